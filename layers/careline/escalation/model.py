"""Value types of the escalation workflow: where a hand-off to staff stands, and who took it.

Plain data, free of AWS. An `EscalationRecord` carries the agent summary (PHI, decrypted) and, while
the workflow waits for an agent, the Step Functions task token; neither appears in a `repr`, and
`to_json` never includes the token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from careline.conversation.model import Channel, EscalationReason, Queue, Urgency


class EscalationStatus(StrEnum):
    """Where an escalation stands. `open` until an agent accepts it (`accepted`) or its SLA passes
    (`timed_out`, still waiting for someone); `closed` once staff are done with it."""

    OPEN = "open"
    ACCEPTED = "accepted"
    TIMED_OUT = "timed_out"
    CLOSED = "closed"


# An agent may still take an escalation in these; the workflow waits for one in both.
AWAITING_AGENT: frozenset[EscalationStatus] = frozenset({EscalationStatus.OPEN, EscalationStatus.TIMED_OUT})


@dataclass(frozen=True)
class EscalationRecord:
    """One escalation as stored, with its summary decrypted.

    `time_to_accept_seconds` is set when an agent accepts: from `created_at` to `accepted_at`.
    `task_token` is the Step Functions token of the wait in progress (set by `await_agent`); the
    caller of `accept` or `close` sends `SendTaskSuccess` with it (see `task_success_output`).
    """

    escalation_id: str
    party_id: str
    reason: EscalationReason
    urgency: Urgency
    queue: Queue
    channel: Channel
    status: EscalationStatus
    created_at: datetime
    # what the agent reads: what the patient wanted, what was done, the last messages (PHI)
    summary: str = field(repr=False)
    accepted_by: str | None = None
    accepted_at: datetime | None = None
    timed_out_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    time_to_accept_seconds: float | None = None
    # when the workflow texted the patient that nobody got to them in time
    patient_told_at: datetime | None = None
    task_token: str | None = field(default=None, repr=False)

    @property
    def awaiting_agent(self) -> bool:
        """True while nobody has taken it (open, or past its SLA and still waiting)."""
        return self.status in AWAITING_AGENT

    def ids(self) -> dict[str, str]:
        """What the workflow, logs and metrics may carry: ids and vocabulary, no PHI."""
        return {
            "escalation_id": self.escalation_id,
            "party_id": self.party_id,
            "reason": self.reason.value,
            "urgency": self.urgency.value,
            "queue": self.queue.value,
            "channel": self.channel.value,
            "status": self.status.value,
        }

    def to_json(self, *, include_summary: bool = True) -> dict[str, Any]:
        """A JSON-safe view for the agent panel (the summary only if asked; never the task token)."""
        out: dict[str, Any] = {
            **self.ids(),
            "created_at": self.created_at.isoformat(),
            "accepted_by": self.accepted_by,
            "accepted_at": _iso(self.accepted_at),
            "timed_out_at": _iso(self.timed_out_at),
            "closed_at": _iso(self.closed_at),
            "closed_by": self.closed_by,
            "time_to_accept_seconds": self.time_to_accept_seconds,
        }
        if include_summary:
            out["summary"] = self.summary
        return out


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def time_to_accept(created_at: datetime, accepted_at: datetime) -> float:
    """Seconds from the escalation to its acceptance (never negative: clocks may disagree)."""
    return max(0.0, round((accepted_at - created_at).total_seconds(), 3))
