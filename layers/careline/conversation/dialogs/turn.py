"""`Turn`: what one turn is building (replies, timeline, escalations, events), shared by every dialog.

Dialogs never do I/O: they add to a `Turn`, and the engine turns it into a `TurnResult`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from careline.config import PracticeConfig
from careline.conversation.model import (
    Channel,
    ConversationContext,
    DomainEvent,
    EscalationReason,
    EscalationRequest,
    InboundMessage,
    OutboundMessage,
    Queue,
    TimelineEntry,
    TimelineKind,
    TurnResult,
    Urgency,
)

# uuid5 namespace for escalation ids: the same inbound message always yields the same id, so a
# retried turn (Lambda retry, SNS redelivery) cannot open a second escalation.
ESCALATION_NAMESPACE: Final = uuid.UUID("6f1d3c1e-2b7a-5d4e-9c61-0c8a7e3b5f20")
# how many recent messages the agent summary quotes (kept in the encrypted flow_state)
TRANSCRIPT_LINES: Final = 6
# how many handled intents the summary lists as "what was done"
HANDLED_INTENTS: Final = 5


def escalation_id_for(message_id: str, reason: EscalationReason) -> str:
    """A deterministic escalation id for an inbound message and a reason."""
    return str(uuid.uuid5(ESCALATION_NAMESPACE, f"{message_id}:{reason.value}"))


@dataclass
class Turn:
    """The turn in progress. `context` is the engine's own copy; dialogs may change it."""

    config: PracticeConfig
    inbound: InboundMessage
    context: ConversationContext
    now: datetime
    replies: list[OutboundMessage] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)
    escalations: list[EscalationRequest] = field(default_factory=list)
    events: list[DomainEvent] = field(default_factory=list)
    intent: str | None = None

    def render(self, key: str, **values: str) -> str:
        """Catalog message `key` for the inbound channel, to be part of a reply (one office's line)."""
        return self.config.catalog.render(key, self.inbound.channel, **values)

    def render_for(self, channel: Channel | None, key: str, **values: str) -> str:
        """Catalog message `key` for `channel` (None: the inbound one)."""
        return self.config.catalog.render(key, channel or self.inbound.channel, **values)

    def text_caller(self, key: str, **values: str) -> None:
        """Send catalog message `key` by SMS to the sender's number, whatever channel they are on
        ("text me the options" on a call). Recorded on the timeline like any reply; the SMS thread
        shares the conversation, so a texted answer carries on the same flow."""
        text = self.render_for(Channel.SMS, key, **values)
        self.replies.append(
            OutboundMessage(to_number=self.inbound.from_number, text=text, channel=Channel.SMS)
        )
        self.timeline.append(
            TimelineEntry(
                at=self.now,
                kind=TimelineKind.OUTBOUND,
                channel=Channel.SMS,
                text=text,
                data={"purpose": "reply", "message_key": key},
            )
        )

    def reply(self, key: str, purpose: str = "reply", **values: str) -> None:
        """Render catalog message `key` for the inbound channel and queue it as a reply."""
        text = self.render(key, **values)
        self.replies.append(
            OutboundMessage(
                to_number=self.inbound.from_number, text=text, channel=self.inbound.channel, purpose=purpose
            )
        )
        self.timeline.append(
            TimelineEntry(
                at=self.now,
                kind=TimelineKind.OUTBOUND,
                channel=self.inbound.channel,
                text=text,
                data={"purpose": purpose, "message_key": key},
            )
        )
        self._remember("careline", text)

    def record_event(self, name: str, **data: Any) -> None:
        """A timeline event and the matching domain event. `data` must hold no PHI."""
        self.timeline.append(
            TimelineEntry(
                at=self.now, kind=TimelineKind.EVENT, channel=self.inbound.channel, event=name, data=data
            )
        )
        detail = {"party_id": self.context.party_id, "channel": self.inbound.channel.value, **data}
        self.events.append(DomainEvent(detail_type=name, detail=detail, at=self.now))

    def escalate(
        self, reason: EscalationReason, urgency: Urgency, queue: Queue, summary: str
    ) -> EscalationRequest:
        """Request a hand-off to staff, recorded on the timeline and published (without the summary)."""
        request = EscalationRequest(
            escalation_id=escalation_id_for(self.inbound.message_id, reason),
            reason=reason,
            urgency=urgency,
            queue=queue,
            summary=summary,
            created_at=self.now,
            channel=self.inbound.channel,
        )
        self.escalations.append(request)
        self.context.escalation_open = True
        self.record_event(
            "escalation_requested",
            escalation_id=request.escalation_id,
            reason=reason.value,
            urgency=urgency.value,
            queue=queue.value,
        )
        return request

    def remember_inbound(self) -> None:
        self._remember("patient", self.inbound.text)

    def note_handled(self, intent: str) -> None:
        """Remember an intent Careline handled, for the agent summary ("what was done")."""
        handled = [*self.context.flow_state.get("handled", []), intent][-HANDLED_INTENTS:]
        self.context.flow_state["handled"] = handled

    def transcript(self) -> list[dict[str, str]]:
        lines: list[dict[str, str]] = list(self.context.flow_state.get("transcript", []))
        return lines

    def _remember(self, speaker: str, text: str) -> None:
        lines = [*self.transcript(), {"from": speaker, "text": text}][-TRANSCRIPT_LINES:]
        self.context.flow_state["transcript"] = lines

    def result(self) -> TurnResult:
        return TurnResult(
            context=self.context,
            replies=self.replies,
            timeline=self.timeline,
            escalations=self.escalations,
            events=self.events,
            intent=self.intent,
        )
