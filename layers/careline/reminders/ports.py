"""Ports of the reminder side: where watched visits, the send ledger and outcomes live, and how
a reminder leaves (text, email, a call task for staff). Nothing here imports AWS."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from careline.reminders.model import VisitOutcome, WatchedVisit
from careline.reminders.policy import SendChannel, SentMessage


class ReminderStore(Protocol):
    def save_visits(self, visits: Sequence[WatchedVisit]) -> None:
        """Store what scoring found; an outcome already recorded on a visit is kept."""
        ...

    def visit(self, appointment_id: str) -> WatchedVisit | None: ...

    def visits_starting(self, start: datetime, end: datetime) -> list[WatchedVisit]:
        """Watched visits (cancelled ones too) starting in [start, end), soonest first."""
        ...

    def record_outcome(self, appointment_id: str, outcome: VisitOutcome, at: datetime) -> None:
        """Record how the visit ended (only forward: see `OUTCOME_RANK`); unknown ids are ignored."""
        ...

    def mark_cancelled(self, appointment_id: str, at: datetime) -> None:
        """The visit was cancelled (by a reply, another channel, or in the EHR)."""
        ...

    def ledger(self, patient_id: str, since: datetime) -> list[SentMessage]:
        """Every automated message (and call task) sent to the patient at or after `since`."""
        ...

    def claim(self, patient_id: str, key: str, channel: SendChannel, at: datetime) -> bool:
        """Write the ledger entry `key` if it is not there yet (one conditional write). False: it
        was already claimed, by this run or an earlier one, and must not be sent again."""
        ...

    def release(self, patient_id: str, key: str) -> None:
        """Remove a claim whose send failed before leaving, so a retry may send it."""
        ...

    def scoring_finished(self, at: datetime) -> None:
        """Record that a scoring run finished at `at`."""
        ...

    def last_scoring(self) -> datetime | None:
        """When the last scoring run finished, or None if none has."""
        ...

    def outcomes_by_tier(self, start: datetime, end: datetime) -> dict[str, dict[str, int]]:
        """For visits starting in [start, end): per tier, how many ended each way (and `total`)."""
        ...


class EmailSender(Protocol):
    def send_email(self, to_address: str, subject: str, body: str) -> str:
        """Send one plain-text email from the practice's address; returns the provider message id."""
        ...


class CallTasks(Protocol):
    def create_call_task(self, visit: WatchedVisit, reason: str, at: datetime) -> str:
        """Ask staff to call the patient about the visit (no clinical detail); returns a task id."""
        ...


class ReplyScopes(Protocol):
    """Where a sent reminder or offer leaves its scope, so the patient's reply acts on it."""

    def open_scope(self, phone: str, key: str, scope: dict[str, Any], entry_text: str, at: datetime) -> None:
        """On the conversation of `phone`: put `scope` in `flow_state[key]` and add the sent text to
        the timeline as an automated outbound message (creating the conversation if new)."""
        ...

    def is_opted_out(self, phone: str) -> bool: ...


@dataclass(frozen=True)
class VisitResources:
    """One booked visit as the EHR holds it: FHIR R4 resources as plain dicts (PHI; never logged)."""

    appointment: Mapping[str, Any]
    patient: Mapping[str, Any]
    conditions: Sequence[Mapping[str, Any]] = ()
    coverages: Sequence[Mapping[str, Any]] = ()
    past_appointments: Sequence[Mapping[str, Any]] = ()


class ScheduleSource(Protocol):
    """The EHR's schedule, read for scoring. Raises `EhrUnavailable` when the EHR cannot answer."""

    def booked_between(self, start: datetime, end: datetime) -> list[VisitResources]:
        """Every booked appointment starting in [start, end), with its patient and their history."""
        ...

    def appointment_status(self, appointment_id: str) -> str | None:
        """The appointment's FHIR status now, or None if the EHR no longer has it."""
        ...
