"""Value types of a conversation: what comes in, what goes out, and what is remembered.

These are plain data, free of AWS: the engine produces them, adapters persist and deliver them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Channel(StrEnum):
    SMS = "sms"
    VOICE = "voice"
    EMAIL = "email"
    CHAT = "chat"


class EscalationReason(StrEnum):
    EMERGENCY = "emergency"
    CRISIS = "crisis"
    HUMAN_REQUESTED = "human_requested"
    CLINICAL_QUESTION = "clinical_question"
    BILLING_COMPLEX = "billing_complex"
    NOT_UNDERSTOOD = "not_understood"
    VERIFICATION_FAILED = "verification_failed"
    FRUSTRATION = "frustration"
    EHR_UNAVAILABLE = "ehr_unavailable"
    # not a patient's request: a high-risk visit's reminder cadence asks staff to call (reminders)
    REMINDER_CALL = "reminder_call"


class Urgency(StrEnum):
    EMERGENCY = "emergency"
    CRISIS = "crisis"
    URGENT = "urgent"
    ROUTINE = "routine"


class Queue(StrEnum):
    FRONT_DESK = "front_desk"
    BILLING = "billing"
    NURSE = "nurse"
    CRISIS = "crisis"


class TimelineKind(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    EVENT = "event"


@dataclass(frozen=True)
class InboundMessage:
    """One message from a patient, as the channel delivered it.

    `message_id` is the provider's id (End User Messaging `inboundMessageId`, Connect contact id +
    turn) and is what idempotency keys on. `from_number`/`to_number` are E.164. `session_id` is the
    channel's own session, where it has one: the Connect contact id of a call (one call, one
    session); None for SMS, whose thread has no sessions.
    """

    message_id: str
    channel: Channel
    from_number: str
    to_number: str
    text: str
    received_at: datetime
    session_id: str | None = None


@dataclass(frozen=True)
class OutboundMessage:
    """One message Careline sends to a patient."""

    to_number: str
    text: str
    channel: Channel
    # why it was sent: "reply", "opt_out_ack", "help", "opt_in_ack", ...
    purpose: str = "reply"


@dataclass(frozen=True)
class EscalationRequest:
    """A hand-off to staff: why, how urgent, which queue, and a summary written for the agent."""

    escalation_id: str
    reason: EscalationReason
    urgency: Urgency
    queue: Queue
    summary: str
    created_at: datetime
    channel: Channel


@dataclass(frozen=True)
class DomainEvent:
    """A fact Careline publishes on its event bus (`careline.<detail_type>`). No PHI in `detail`."""

    detail_type: str
    detail: dict[str, Any]
    at: datetime


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a patient's timeline: a message in or out, or an event, on any channel.

    `text` is PHI and is stored encrypted. `data` holds non-PHI attributes (intent, purpose, ids).
    """

    at: datetime
    kind: TimelineKind
    channel: Channel
    text: str | None = None
    event: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class ConversationContext:
    """What Careline remembers of one party (a phone number until verified, later the patient).

    `party_id` is a keyed hash, never a raw number. `phone` is PHI and is stored encrypted.
    `flow_state` holds the active dialog's slots; values in it are treated as PHI and encrypted.
    `version` supports optimistic concurrency: a store refuses a write whose version moved.
    """

    party_id: str
    phone: str
    opted_out: bool = False
    opted_out_at: datetime | None = None
    active_flow: str | None = None
    flow_state: dict[str, Any] = field(default_factory=dict)
    failed_understandings: int = 0
    escalation_open: bool = False
    # the staff member who took the conversation over (agent panel: accept); while set, Careline
    # says nothing itself but the safety protocol and carrier keyword answers, until handed back
    human_owner: str | None = None
    last_activity: datetime | None = None
    version: int = 0
    # The last saved turn's inbound message id and what it was to send and publish. If sending
    # fails after the save, the redelivered message finds its own id here and delivers exactly
    # this, instead of deciding the turn a second time. `pending_delivery` is PHI (reply text).
    last_inbound_id: str | None = None
    pending_delivery: list[OutboundMessage] = field(default_factory=list)
    pending_events: list[DomainEvent] = field(default_factory=list)


@dataclass(frozen=True)
class TurnResult:
    """Everything one turn decided: the new context, what to record, send, escalate and publish."""

    context: ConversationContext
    replies: list[OutboundMessage]
    timeline: list[TimelineEntry]
    escalations: list[EscalationRequest] = field(default_factory=list)
    events: list[DomainEvent] = field(default_factory=list)
    # the interpreted intent (or "opt_out", "safety_emergency", ...); not PHI, safe to log
    intent: str | None = None
    # the verified patient whose flow the context holds open after this turn, if any (the store
    # records where it lives, under a keyed hash of this id, for a call from another number)
    flow_patient_id: str | None = None
