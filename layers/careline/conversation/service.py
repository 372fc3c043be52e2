"""`TurnService`: one inbound message, end to end, through the ports only.

load context -> engine -> save the turn (one write) -> publish events -> send replies. Replies are
sent last, so a failure before them leaves nothing half-said; idempotency on the inbound message id
(in the handler) keeps a redelivered message from being answered twice.

The saved context remembers the turn's inbound message id and what it had to deliver. If publishing
or sending fails after the save, the handler raises, Lambda redelivers, and this service finds the
message already decided: it delivers what was saved rather than deciding again (which would record
the message twice and, for a STOP, never send the acknowledgment, since an opted-out STOP is silent).
"""

from __future__ import annotations

from typing import Any

from careline.conversation.engine import ConversationEngine
from careline.conversation.model import (
    Channel,
    ConversationContext,
    InboundMessage,
    OutboundMessage,
    TimelineKind,
    TurnResult,
)
from careline.conversation.patient_flows import PatientFlows
from careline.errors import ConcurrentTurnError
from careline.ports import Clock, ContextStore, EventBus, Messenger, PartyKeys


class TurnService:
    """Runs the engine for one inbound message and carries out what it decided."""

    def __init__(
        self,
        engine: ConversationEngine,
        store: ContextStore,
        keys: PartyKeys,
        messenger: Messenger,
        events: EventBus,
        clock: Clock,
        patient_flows: PatientFlows | None = None,
    ) -> None:
        self._engine = engine
        self._store = store
        self._keys = keys
        self._messenger = messenger
        self._events = events
        self._clock = clock
        self._patient_flows = patient_flows
        # The last turn this container decided: its inbound id and spoken replies, so a call's
        # handler gets them without reading back the context it just wrote.
        self._last_spoken: tuple[str, list[OutboundMessage]] | None = None

    def handle(self, inbound: InboundMessage) -> dict[str, Any]:
        """Handle one inbound message; returns a JSON-safe summary with no PHI in it.

        The summary names the turn's escalations (id, reason, urgency, queue) and the catalog keys
        of its replies, so a channel can act on them (a call transfers to the queue) even when the
        summary is all an idempotent retry gets back."""
        party_id = self._keys.party_for_phone(inbound.from_number)
        result, redelivered = self._decide_and_save(party_id, inbound)
        self._last_spoken = (inbound.message_id, _spoken(result.replies))
        if result.events:
            self._events.publish(result.events)
        provider_ids = [
            self._messenger.send_sms(reply.to_number, reply.text)
            for reply in result.replies
            # voice replies are spoken by the voice channel itself, not texted
            if reply.channel is not Channel.VOICE
        ]
        return {
            "party_id": party_id,
            "intent": result.intent,
            "replies_sent": len(provider_ids),
            "provider_message_ids": provider_ids,
            "escalation_ids": [e.escalation_id for e in result.escalations],
            # from the turn's events, which a redelivered turn keeps too (its escalations are saved)
            "escalations": [
                {k: str(event.detail[k]) for k in ("escalation_id", "reason", "urgency", "queue")}
                for event in result.events
                if event.detail_type == "escalation_requested"
            ],
            "reply_keys": [
                str(entry.data["message_key"])
                for entry in result.timeline
                if entry.kind is TimelineKind.OUTBOUND and "message_key" in entry.data
            ],
            "opted_out": result.context.opted_out,
            "redelivered": redelivered,
            "handled_at": self._clock.now().isoformat(),
        }

    def spoken_replies(self, inbound: InboundMessage) -> list[OutboundMessage] | None:
        """What the turn of `inbound` says on the call, once `handle` has decided it (in this
        container, or before: a retried call turn whose summary came from idempotency). None when
        the party's last saved turn is another message."""
        if self._last_spoken is not None and self._last_spoken[0] == inbound.message_id:
            return list(self._last_spoken[1])
        context = self._store.load(self._keys.party_for_phone(inbound.from_number))
        if context is None or context.last_inbound_id != inbound.message_id:
            return None
        return _spoken(context.pending_delivery)

    def _decide_and_save(self, party_id: str, inbound: InboundMessage) -> tuple[TurnResult, bool]:
        """The turn's result and whether it had been decided and saved before (a redelivery)."""
        # A concurrent turn for the same party (two texts in quick succession) moved the version:
        # reload and decide again once, on the context that now includes the other turn.
        for attempt in range(2):
            context = self._store.load(party_id) or ConversationContext(
                party_id=party_id, phone=inbound.from_number
            )
            if context.last_inbound_id == inbound.message_id:
                saved = TurnResult(
                    context=context,
                    replies=list(context.pending_delivery),
                    timeline=[],
                    events=list(context.pending_events),
                )
                return saved, True
            result = self._engine.take_turn(inbound, context)
            result.context.last_inbound_id = inbound.message_id
            result.context.pending_delivery = list(result.replies)
            result.context.pending_events = list(result.events)
            patient_key = (
                self._patient_flows.key(result.flow_patient_id)
                if self._patient_flows is not None and result.flow_patient_id is not None
                else None
            )
            try:
                self._store.save_turn(
                    result.context, result.timeline, result.escalations, patient_key=patient_key
                )
            except ConcurrentTurnError:
                if attempt == 1:
                    raise
                continue
            return result, False
        raise AssertionError("unreachable")  # pragma: no cover


def _spoken(replies: list[OutboundMessage]) -> list[OutboundMessage]:
    return [reply for reply in replies if reply.channel is Channel.VOICE]
