"""The audit record of a read of a patient's context: who, what, when, and why.

Nothing in it is PHI, by construction: the party id is a keyed hash, the escalation id a uuid,
the user a staff account, the fields are names of fields, and the reason is one of a fixed list of
purposes (free text would invite a patient's name). So the record can sit in plain attributes,
and in a log line, as it is.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class AccessPurpose(StrEnum):
    """Why a staff member opens a patient's context (asked before every read)."""

    ACCEPTING = "accepting"  # deciding whether to take the escalation
    REPLYING = "replying"  # answering the patient now
    FOLLOW_UP = "follow_up"  # calling or writing back later
    REVIEW = "review"  # checking what happened (quality, a complaint)
    SUPERVISION = "supervision"  # a supervisor overseeing the queue


class AuditAction(StrEnum):
    VIEW_ESCALATION = "view_escalation"


class AuditOutcome(StrEnum):
    GRANTED = "granted"  # the fields were read and returned
    DENIED = "denied"  # refused (outside the user's queues): nothing was read


@dataclass(frozen=True)
class AuditEntry:
    """One read (or refused read) of a patient's context."""

    at: datetime
    user_id: str
    groups: tuple[str, ...]
    action: AuditAction
    party_id: str
    escalation_id: str
    fields: tuple[str, ...]
    why: AccessPurpose
    outcome: AuditOutcome
    audit_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def to_json(self) -> dict[str, Any]:
        """The record as plain JSON values (the log line, and what tests compare)."""
        return {
            "audit_id": self.audit_id,
            "at": self.at.isoformat(),
            "user_id": self.user_id,
            "groups": list(self.groups),
            "action": self.action.value,
            "party_id": self.party_id,
            "escalation_id": self.escalation_id,
            "fields": list(self.fields),
            "why": self.why.value,
            "outcome": self.outcome.value,
        }
