"""Ports of identity verification: the failure ledger and the keyed hashes that name its subjects.

Kept here rather than in `careline.ports` because only identity verification speaks them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Protocol


class SubjectKind(StrEnum):
    """What a failed verification is counted against."""

    NUMBER = "number"  # the sender's phone number
    PATIENT = "patient"  # the EHR patient the sender claimed to be (known-number path)
    CLAIMED_NAME = "claimed_name"  # the full name typed on the unknown-number path


class SubjectKeys(Protocol):
    def subject_key(self, kind: SubjectKind, value: str) -> str:
        """A stable keyed hash of a number, patient id or normalized name: 64 lowercase hex digits,
        safe in keys, logs and events, useless to a reader without the key. For a number it is the
        number's party id, so a fraud signal can be traced to its conversation."""
        ...


class VerificationLedger(Protocol):
    """Failed verifications per subject (a keyed hash), kept for the lockout window."""

    def record_failure(
        self,
        subject_key: str,
        at: datetime,
        *,
        counterpart: str | None = None,
        attempt_id: str | None = None,
    ) -> None:
        """Count one failure against `subject_key` at `at`.

        `counterpart` is the other side of the attempt (for a number, the patient or claimed name
        it tried; for a patient, the number that tried), also a keyed hash. `attempt_id` (the
        inbound message id) makes a redelivered attempt at the same instant count once.
        """
        ...

    def failures_since(self, subject_key: str, since: datetime) -> int:
        """Failures counted against `subject_key` at or after `since`."""
        ...

    def counterparts_since(self, subject_key: str, since: datetime) -> dict[str, int]:
        """Failures against `subject_key` at or after `since`, per distinct counterpart (failures
        recorded without one are left out): how many patients a number probed, or how many
        numbers failed against a patient."""
        ...
