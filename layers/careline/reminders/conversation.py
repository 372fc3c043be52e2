"""Where scheduled messages meet the patient's conversation (through the ports, no AWS).

`ConversationScopes` leaves a sent reminder or waitlist offer on the patient's conversation: the
text on their timeline, and its scope in `flow_state` so their reply ("C", "X", "yes") acts on
exactly that visit or slot. `EscalationCallTasks` turns a high-risk visit's call step into a work
item for the front desk: an escalation (reason `reminder_call`) saved and published the way a
turn's are, so it shows in the agent panel and runs the escalation workflow (no text to the patient:
it is a call staff make, so its channel is voice).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Final

from careline.conversation.model import (
    Channel,
    ConversationContext,
    DomainEvent,
    EscalationReason,
    EscalationRequest,
    Queue,
    TimelineEntry,
    TimelineKind,
    Urgency,
)
from careline.errors import ConcurrentTurnError
from careline.ports import ContextStore, EventBus, PartyKeys
from careline.reminders.model import WatchedVisit

# a write that lost to a patient's turn is tried again on the fresh context this many times
ATTEMPTS: Final = 3
_CALL_TASK_NAMESPACE: Final = uuid.UUID("5d4e9a60-2b1f-4f57-9a55-0c2c2c1a7e10")


class ConversationScopes:
    """The `ReplyScopes` port over the conversation store."""

    def __init__(self, store: ContextStore, keys: PartyKeys) -> None:
        self._store = store
        self._keys = keys

    def is_opted_out(self, phone: str) -> bool:
        context = self._store.load(self._keys.party_for_phone(phone))
        return context is not None and context.opted_out

    def open_scope(self, phone: str, key: str, scope: dict[str, Any], entry_text: str, at: datetime) -> None:
        party_id = self._keys.party_for_phone(phone)
        entry = TimelineEntry(
            at=at,
            kind=TimelineKind.OUTBOUND,
            channel=Channel.SMS,
            text=entry_text,
            data={"purpose": key, "automated": True},
        )
        _save(
            self._store, party_id, phone, lambda context: context.flow_state.__setitem__(key, scope), [entry]
        )


class EscalationCallTasks:
    """The `CallTasks` port: a front-desk work item per call step, through the escalation workflow."""

    def __init__(self, store: ContextStore, keys: PartyKeys, bus: EventBus) -> None:
        self._store = store
        self._keys = keys
        self._bus = bus

    def create_call_task(self, visit: WatchedVisit, reason: str, at: datetime) -> str:
        phone = visit.call_phone or visit.phone
        if phone is None:
            raise ValueError(f"visit {visit.appointment_id}: no number for staff to call")
        party_id = self._keys.party_for_phone(phone)
        # one task per visit: a retried send finds the same id, and the store refuses a second item
        escalation_id = str(uuid.uuid5(_CALL_TASK_NAMESPACE, f"call#{visit.appointment_id}"))
        request = EscalationRequest(
            escalation_id=escalation_id,
            reason=EscalationReason.REMINDER_CALL,
            urgency=Urgency.ROUTINE,
            queue=Queue.FRONT_DESK,
            summary=reason,
            created_at=at,
            channel=Channel.VOICE,
        )
        detail = {
            "party_id": party_id,
            "channel": Channel.VOICE.value,
            "escalation_id": escalation_id,
            "reason": EscalationReason.REMINDER_CALL.value,
            "urgency": Urgency.ROUTINE.value,
            "queue": Queue.FRONT_DESK.value,
            "appointment_id": visit.appointment_id,
        }
        entry = TimelineEntry(
            at=at, kind=TimelineKind.EVENT, channel=Channel.VOICE, event="escalation_requested", data=detail
        )
        _save(self._store, party_id, phone, lambda _: None, [entry], [request])
        self._bus.publish([DomainEvent(detail_type="escalation_requested", detail=detail, at=at)])
        return escalation_id


def _save(
    store: ContextStore,
    party_id: str,
    phone: str,
    change: Any,
    entries: list[TimelineEntry],
    escalations: list[EscalationRequest] | None = None,
) -> None:
    for attempt in range(ATTEMPTS):
        context = store.load(party_id) or ConversationContext(party_id=party_id, phone=phone)
        change(context)
        try:
            store.save_turn(context, entries, escalations or ())
            return
        except ConcurrentTurnError:
            if attempt == ATTEMPTS - 1:
                raise
