"""In-memory fakes of the reminder and waitlist ports, with the real stores' rules (claims are
conditional, outcomes only move forward, offers append only onto what was read)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from careline.reminders.model import OUTCOME_RANK, VisitOutcome, WatchedVisit
from careline.reminders.policy import SendChannel, SentMessage
from careline.reminders.ports import VisitResources
from careline.waitlist.model import FreedSlot, Offer, SlotState, WaitlistEntry


@dataclass
class InMemoryReminderStore:
    visits: dict[str, WatchedVisit] = field(default_factory=dict)
    sent: dict[str, dict[str, SentMessage]] = field(default_factory=dict)
    # the next N claims raise, as a throttled table would
    failing_claims: int = 0
    scored_at: datetime | None = None

    def scoring_finished(self, at: datetime) -> None:
        self.scored_at = at

    def last_scoring(self) -> datetime | None:
        return self.scored_at

    def save_visits(self, visits: Sequence[WatchedVisit]) -> None:
        for visit in visits:
            before = self.visits.get(visit.appointment_id)
            if before is not None:
                visit = replace(
                    visit, outcome=before.outcome, outcome_at=before.outcome_at, cancelled=before.cancelled
                )
            self.visits[visit.appointment_id] = visit

    def visit(self, appointment_id: str) -> WatchedVisit | None:
        return self.visits.get(appointment_id)

    def visits_starting(self, start: datetime, end: datetime) -> list[WatchedVisit]:
        found = [v for v in self.visits.values() if start <= v.starts_at < end]
        return sorted(found, key=lambda v: (v.starts_at, v.appointment_id))

    def record_outcome(self, appointment_id: str, outcome: VisitOutcome, at: datetime) -> None:
        visit = self.visits.get(appointment_id)
        if visit is not None:
            self.visits[appointment_id] = visit.with_outcome(outcome, at)

    def mark_cancelled(self, appointment_id: str, at: datetime) -> None:
        visit = self.visits.get(appointment_id)
        if visit is not None:
            self.visits[appointment_id] = replace(visit, cancelled=True)

    def ledger(self, patient_id: str, since: datetime) -> list[SentMessage]:
        entries = self.sent.get(patient_id, {}).values()
        return sorted((e for e in entries if e.sent_at >= since), key=lambda e: e.sent_at)

    def claim(self, patient_id: str, key: str, channel: SendChannel, at: datetime) -> bool:
        if self.failing_claims:
            self.failing_claims -= 1
            raise RuntimeError("throttled")
        mine = self.sent.setdefault(patient_id, {})
        if key in mine:
            return False
        mine[key] = SentMessage(key, at, channel)
        return True

    def release(self, patient_id: str, key: str) -> None:
        self.sent.get(patient_id, {}).pop(key, None)

    def outcomes_by_tier(self, start: datetime, end: datetime) -> dict[str, dict[str, int]]:
        counts: dict[str, Counter[str]] = {}
        for visit in self.visits_starting(start, end):
            tier = counts.setdefault(visit.tier, Counter())
            tier["total"] += 1
            if visit.outcome is not None:
                tier[visit.outcome.value] += 1
        return {tier: dict(c) for tier, c in counts.items()}

    def keys_sent(self, patient_id: str) -> list[str]:
        return sorted(self.sent.get(patient_id, {}))


assert OUTCOME_RANK  # the fake follows the real ranking through WatchedVisit.with_outcome


@dataclass
class InMemoryWaitlistStore:
    waiting: dict[str, WaitlistEntry] = field(default_factory=dict)
    slots: dict[str, FreedSlot] = field(default_factory=dict)

    def join(self, entry: WaitlistEntry) -> None:
        before = self.waiting.get(entry.patient_id)
        if before is not None:
            entry = replace(entry, joined_at=before.joined_at)
        self.waiting[entry.patient_id] = entry

    def leave(self, patient_id: str) -> None:
        self.waiting.pop(patient_id, None)

    def entry(self, patient_id: str) -> WaitlistEntry | None:
        return self.waiting.get(patient_id)

    def entries(self) -> list[WaitlistEntry]:
        return sorted(self.waiting.values(), key=lambda e: (e.joined_at, e.patient_id))

    def slot_freed(self, slot: FreedSlot) -> None:
        self.slots.setdefault(slot.slot_key, slot)

    def open_slots(self) -> list[FreedSlot]:
        return sorted((s for s in self.slots.values() if s.state is SlotState.OPEN), key=lambda s: s.start)

    def slot(self, slot_key: str) -> FreedSlot | None:
        return self.slots.get(slot_key)

    def add_offer(self, slot: FreedSlot, offer: Offer) -> bool:
        stored = self.slots.get(slot.slot_key)
        if stored is None or stored.state is not SlotState.OPEN or len(stored.offers) != len(slot.offers):
            return False
        self.slots[slot.slot_key] = replace(stored, offers=(*stored.offers, offer))
        return True

    def fill(self, slot_key: str, patient_id: str, at: datetime) -> bool:
        stored = self.slots.get(slot_key)
        if stored is None or stored.state is not SlotState.OPEN:
            return False
        self.slots[slot_key] = replace(stored, state=SlotState.FILLED, filled_by=patient_id)
        return True

    def expire(self, slot_key: str, at: datetime) -> None:
        stored = self.slots.get(slot_key)
        if stored is not None and stored.state is SlotState.OPEN:
            self.slots[slot_key] = replace(stored, state=SlotState.EXPIRED)


@dataclass
class FakeSchedule:
    """The `ScheduleSource` port over FHIR-shaped dicts."""

    visits: list[VisitResources] = field(default_factory=list)
    statuses: dict[str, str | None] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    def booked_between(self, start: datetime, end: datetime) -> list[VisitResources]:
        found = []
        for v in self.visits:
            at = datetime.fromisoformat(str(v.appointment["start"]))
            if start <= at < end and v.appointment.get("status") == "booked":
                found.append(v)
        return found

    def appointment_status(self, appointment_id: str) -> str | None:
        self.asked.append(appointment_id)
        return self.statuses.get(appointment_id)


@dataclass
class RecordingEmail:
    sent: list[tuple[str, str, str]] = field(default_factory=list)

    def send_email(self, to_address: str, subject: str, body: str) -> str:
        self.sent.append((to_address, subject, body))
        return f"email-{len(self.sent)}"


@dataclass
class RecordingCallTasks:
    tasks: list[tuple[str, str]] = field(default_factory=list)

    def create_call_task(self, visit: WatchedVisit, reason: str, at: datetime) -> str:
        self.tasks.append((visit.appointment_id, reason))
        return f"task-{len(self.tasks)}"


@dataclass
class FailingMessenger:
    """Fails the next `failures` sends, as a throttled End User Messaging would."""

    failures: int = 1
    sent: list[tuple[str, str]] = field(default_factory=list)

    def send_sms(self, to_number: str, body: str) -> str:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("ThrottlingException")
        self.sent.append((to_number, body))
        return f"msg-{len(self.sent)}"


def fhir_patient(
    patient_id: str,
    *,
    birth_date: str = "1980-01-01",
    gender: str = "female",
    phone: str | None = "+15035550111",
    phone_use: str = "mobile",
    email: str | None = None,
    email_rank: int | None = None,
    state: str | None = "OR",
) -> dict[str, Any]:
    telecom: list[dict[str, Any]] = []
    if phone is not None:
        telecom.append({"system": "phone", "value": phone, "use": phone_use, "rank": 2})
    if email is not None:
        point: dict[str, Any] = {"system": "email", "value": email}
        if email_rank is not None:
            point["rank"] = email_rank
        telecom.append(point)
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": patient_id,
        "birthDate": birth_date,
        "gender": gender,
        "telecom": telecom,
    }
    if state is not None:
        patient["address"] = [{"use": "home", "state": state}]
    return patient


def fhir_appointment(
    appointment_id: str,
    patient_id: str,
    start: datetime,
    *,
    created: datetime,
    practitioner_id: str = "dr-chen",
    minutes: int = 20,
    status: str = "booked",
) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "id": appointment_id,
        "status": status,
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=minutes)).isoformat(),
        "created": created.isoformat(),
        "participant": [
            {"actor": {"reference": f"Patient/{patient_id}"}, "status": "accepted"},
            {"actor": {"reference": f"Practitioner/{practitioner_id}"}, "status": "accepted"},
        ],
    }


def past_visits(patient_id: str, before: datetime, outcomes: Mapping[str, int]) -> list[dict[str, Any]]:
    """Past appointments of the patient, `outcomes` = {"noshow": 3, "fulfilled": 1}, a week apart."""
    found = []
    n = 0
    for status, count in outcomes.items():
        for _ in range(count):
            n += 1
            start = before - timedelta(days=7 * n)
            found.append(
                fhir_appointment(f"{patient_id}-past-{n}", patient_id, start, created=start, status=status)
            )
    return found


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]
