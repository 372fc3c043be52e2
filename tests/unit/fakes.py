"""In-memory fakes of the ports, for unit tests of the domain core (no network, no AWS)."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from careline.config import parse_practice_config
from careline.conversation.model import (
    ConversationContext,
    DomainEvent,
    EscalationRequest,
    Queue,
    TimelineEntry,
)
from careline.ehr.errors import EhrUnavailable, NotFound, SlotTaken
from careline.ehr.model import (
    AppointmentRecord,
    AppointmentStatus,
    FreeSlot,
    PatientRecord,
    Practitioner,
    SlotQuery,
)
from careline.errors import ConcurrentTurnError, ConfigError
from careline.escalation import (
    AgentTask,
    AlreadyTaken,
    EscalationNotFound,
    EscalationRecord,
    EscalationStatus,
    time_to_accept,
)
from careline.identity import SubjectKind


@dataclass
class FixedClock:
    """A clock that stands still until a test moves it."""

    at: datetime

    def now(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> None:
        self.at += delta


class FakePartyKeys:
    def party_for_phone(self, phone: str) -> str:
        return "party-" + hashlib.sha256(phone.encode()).hexdigest()[:16]


@dataclass
class InMemoryContextStore:
    """Keeps contexts, timelines and escalations in dicts; enforces the version check like the real store.

    `conflicts` makes the next N `save_turn` calls fail as if another turn had saved first.
    """

    contexts: dict[str, ConversationContext] = field(default_factory=dict)
    timelines: dict[str, list[TimelineEntry]] = field(default_factory=dict)
    escalations: dict[str, list[EscalationRequest]] = field(default_factory=dict)
    conflicts: int = 0
    loads: int = 0
    saves: int = 0
    open_flows: dict[str, str] = field(default_factory=dict)

    def load(self, party_id: str) -> ConversationContext | None:
        self.loads += 1
        stored = self.contexts.get(party_id)
        return copy.deepcopy(stored) if stored else None

    def save_turn(
        self,
        context: ConversationContext,
        entries: Sequence[TimelineEntry],
        escalations: Sequence[EscalationRequest] = (),
        *,
        patient_key: str | None = None,
    ) -> None:
        if self.conflicts > 0:
            self.conflicts -= 1
            raise ConcurrentTurnError(context.party_id)
        current = self.contexts.get(context.party_id)
        if (current.version if current else 0) != context.version:
            raise ConcurrentTurnError(context.party_id)
        self.saves += 1
        self.contexts[context.party_id] = replace(copy.deepcopy(context), version=context.version + 1)
        self.timelines.setdefault(context.party_id, []).extend(entries)
        self.escalations.setdefault(context.party_id, []).extend(escalations)
        if patient_key is not None:
            self.open_flows[patient_key] = context.party_id

    def party_with_open_flow(self, patient_key: str) -> str | None:
        return self.open_flows.get(patient_key)

    def set_human_owner(self, party_id: str, owner: str | None) -> None:
        current = self.contexts.get(party_id)
        if current is None:
            raise KeyError("no conversation for this party")
        self.contexts[party_id] = replace(
            current,
            human_owner=owner,
            escalation_open=current.escalation_open if owner is not None else False,
            version=current.version + 1,
        )

    def record_staff_message(self, party_id: str, entry: TimelineEntry) -> None:
        self.timelines.setdefault(party_id, []).append(entry)

    def timeline(self, party_id: str, limit: int | None = None) -> list[TimelineEntry]:
        entries = self.timelines.get(party_id, [])
        return entries[-limit:] if limit else list(entries)


@dataclass
class RecordingMessenger:
    sent: list[tuple[str, str]] = field(default_factory=list)

    def send_sms(self, to_number: str, body: str) -> str:
        self.sent.append((to_number, body))
        return f"msg-{len(self.sent)}"


@dataclass
class RecordingEventBus:
    published: list[DomainEvent] = field(default_factory=list)

    def publish(self, events: Sequence[DomainEvent]) -> None:
        self.published.extend(events)


ROOT = Path(__file__).resolve().parents[2]
SAMPLE_CONFIG = ROOT / "config" / "practice.yaml"


def error_for(data: dict[str, Any]) -> str:
    """The ConfigError message the config `data` gets (the test fails if it parses)."""
    with pytest.raises(ConfigError) as info:
        parse_practice_config(data, "test.yaml")
    return str(info.value)


PORTLAND = ZoneInfo("America/Los_Angeles")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in the sample practice's timezone."""
    return datetime(year, month, day, hour, minute, tzinfo=PORTLAND)


@dataclass
class InMemoryEhr:
    """The `Ehr` port over lists: patients, practitioners, free slots and appointments.

    `down` makes every call raise `EhrUnavailable`; `down_for` only the named methods (an outage
    mid-booking); `taken_on_book` makes the named slots go to someone else just before a booking.
    """

    patients: list[PatientRecord] = field(default_factory=list)
    staff: list[Practitioner] = field(default_factory=list)
    slots: list[FreeSlot] = field(default_factory=list)
    appointments: list[AppointmentRecord] = field(default_factory=list)
    communications: list[tuple[str, str, str, datetime]] = field(default_factory=list)
    cancel_reasons: dict[str, str] = field(default_factory=dict)
    confirmed: list[str] = field(default_factory=list)
    down: bool = False
    down_for: set[str] = field(default_factory=set)
    taken_on_book: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.down or name in self.down_for:
            raise EhrUnavailable(name)

    def find_patients_by_phone(self, phone: str) -> list[PatientRecord]:
        self._call("find_patients_by_phone")
        return [p for p in self.patients if phone in p.phones]

    def find_patients_by_name_and_birth_date(
        self, given_name: str, family_name: str, birth_date: date
    ) -> list[PatientRecord]:
        self._call("find_patients_by_name_and_birth_date")
        return [
            p
            for p in self.patients
            if p.birth_date == birth_date
            and p.given_name.lower() == given_name.lower()
            and p.family_name.lower() == family_name.lower()
        ]

    def practitioners(self) -> list[Practitioner]:
        self._call("practitioners")
        return list(self.staff)

    def upcoming_appointments(self, patient_id: str, after: datetime) -> list[AppointmentRecord]:
        self._call("upcoming_appointments")
        mine = [
            a
            for a in self.appointments
            if a.patient_id == patient_id and a.start >= after and a.status is AppointmentStatus.BOOKED
        ]
        return sorted(mine, key=lambda a: a.start)

    def free_slots(self, query: SlotQuery) -> list[FreeSlot]:
        self._call("free_slots")
        found = [
            s
            for s in self.slots
            if query.earliest <= s.start < query.latest
            and query.practitioner_id in (None, s.practitioner_id)
            and query.appointment_type in (None, s.appointment_type)
        ]
        return sorted(found, key=lambda s: (s.start, s.id))[: query.limit]

    def _take(self, slot: FreeSlot) -> FreeSlot:
        free = next((s for s in self.slots if s.id == slot.id), None)
        if free is None or slot.id in self.taken_on_book:
            if free is not None:
                self.slots.remove(free)
            raise SlotTaken(slot.id)
        self.slots.remove(free)
        return free

    def book(self, patient_id: str, slot: FreeSlot, appointment_type: str | None = None) -> AppointmentRecord:
        self._call("book")
        free = self._take(slot)
        booked = AppointmentRecord(
            id=f"appt-{len(self.appointments) + 1}",
            patient_id=patient_id,
            practitioner_id=free.practitioner_id,
            start=free.start,
            end=free.end,
            status=AppointmentStatus.BOOKED,
            slot_id=free.id,
            appointment_type=appointment_type or free.appointment_type,
            location_id=free.location_id,
        )
        self.appointments.append(booked)
        return booked

    def reschedule(self, appointment: AppointmentRecord, slot: FreeSlot) -> AppointmentRecord:
        self._call("reschedule")
        free = self._take(slot)
        moved = AppointmentRecord(
            id=f"appt-{len(self.appointments) + 1}",
            patient_id=appointment.patient_id,
            practitioner_id=free.practitioner_id,
            start=free.start,
            end=free.end,
            status=AppointmentStatus.BOOKED,
            slot_id=free.id,
            appointment_type=appointment.appointment_type,
            location_id=free.location_id,
        )
        self.appointments.append(moved)
        self._set_cancelled(appointment.id)
        return moved

    def cancel(self, appointment: AppointmentRecord, reason: str) -> AppointmentRecord:
        self._call("cancel")
        self.cancel_reasons[appointment.id] = reason
        return self._set_cancelled(appointment.id)

    def confirm(self, appointment: AppointmentRecord) -> AppointmentRecord:
        self._call("confirm")
        current = next((a for a in self.appointments if a.id == appointment.id), None)
        if current is None or current.status is not AppointmentStatus.BOOKED:
            raise NotFound(appointment.id)
        if appointment.id not in self.confirmed:
            self.confirmed.append(appointment.id)
        return current

    def _set_cancelled(self, appointment_id: str) -> AppointmentRecord:
        for i, existing in enumerate(self.appointments):
            if existing.id == appointment_id:
                self.appointments[i] = replace(existing, status=AppointmentStatus.CANCELLED)
                return self.appointments[i]
        raise NotFound(appointment_id)

    def record_communication(self, patient_id: str, summary: str, channel: str, sent: datetime) -> str:
        self._call("record_communication")
        self.communications.append((patient_id, summary, channel, sent))
        return f"comm-{len(self.communications)}"


@dataclass
class RecordingVisitChanges:
    """The `VisitChanges` port: what the engine reported, in order. `fail` makes each report raise."""

    reported: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    fail: bool = False

    def _record(self, change: str, *appointments: AppointmentRecord) -> None:
        if self.fail:
            raise RuntimeError("the outcome store is down")
        self.reported.append((change, tuple(a.id for a in appointments)))

    def confirmed(self, appointment: AppointmentRecord, at: datetime) -> None:
        self._record("confirmed", appointment)

    def cancelled(self, appointment: AppointmentRecord, at: datetime) -> None:
        self._record("cancelled", appointment)

    def rescheduled(self, old: AppointmentRecord, new: AppointmentRecord, at: datetime) -> None:
        self._record("rescheduled", old, new)


class FakeSubjectKeys:
    """Keyed hashes for the verification ledger (a plain hash is enough in a test)."""

    def subject_key(self, kind: SubjectKind, value: str) -> str:
        return hashlib.sha256(f"{kind.value}:{value}".encode()).hexdigest()


# --- the escalation workflow (careline.escalation.ports) ---------------------------------------------


@dataclass
class InMemoryEscalationStore:
    """The `EscalationStore` port over a dict, with the real store's rules: accept and await only
    while open or timed out, the same agent may accept again, time_out only from open, close always.

    `add(request, party_id)` puts in what `save_turn` would have saved; `notices` keeps what
    `record_patient_notice` noted, by escalation id.
    """

    records: dict[tuple[str, str], EscalationRecord] = field(default_factory=dict)
    notices: dict[str, tuple[str, datetime, dict[str, object]]] = field(default_factory=dict)

    def add(self, request: EscalationRequest, party_id: str) -> EscalationRecord:
        record = EscalationRecord(
            escalation_id=request.escalation_id,
            party_id=party_id,
            reason=request.reason,
            urgency=request.urgency,
            queue=request.queue,
            channel=request.channel,
            status=EscalationStatus.OPEN,
            created_at=request.created_at,
            summary=request.summary,
        )
        self.records[(party_id, request.escalation_id)] = record
        return record

    def _existing(self, party_id: str, escalation_id: str) -> EscalationRecord:
        record = self.records.get((party_id, escalation_id))
        if record is None:
            raise EscalationNotFound(escalation_id)
        return record

    def _put(self, record: EscalationRecord) -> EscalationRecord:
        self.records[(record.party_id, record.escalation_id)] = record
        return record

    def get(self, party_id: str, escalation_id: str) -> EscalationRecord | None:
        return self.records.get((party_id, escalation_id))

    def open_in_queues(self, queues: Iterable[Queue]) -> list[EscalationRecord]:
        wanted = set(queues)
        found = [r for r in self.records.values() if r.status is EscalationStatus.OPEN and r.queue in wanted]
        return sorted(found, key=lambda r: (r.created_at, r.escalation_id))

    def await_agent(self, party_id: str, escalation_id: str, task_token: str) -> EscalationRecord:
        record = self._existing(party_id, escalation_id)
        if not record.awaiting_agent:
            raise AlreadyTaken(escalation_id, record.status.value, record.accepted_by)
        return self._put(replace(record, task_token=task_token))

    def accept(self, party_id: str, escalation_id: str, agent: str, at: datetime) -> EscalationRecord:
        record = self._existing(party_id, escalation_id)
        if record.status is EscalationStatus.ACCEPTED and record.accepted_by == agent:
            return record
        if not record.awaiting_agent:
            raise AlreadyTaken(escalation_id, record.status.value, record.accepted_by)
        return self._put(
            replace(
                record,
                status=EscalationStatus.ACCEPTED,
                accepted_by=agent,
                accepted_at=at,
                time_to_accept_seconds=time_to_accept(record.created_at, at),
            )
        )

    def time_out(self, party_id: str, escalation_id: str, at: datetime) -> EscalationRecord:
        record = self._existing(party_id, escalation_id)
        if record.status is EscalationStatus.TIMED_OUT:
            return record
        if record.status is not EscalationStatus.OPEN:
            raise AlreadyTaken(escalation_id, record.status.value, record.accepted_by)
        return self._put(replace(record, status=EscalationStatus.TIMED_OUT, timed_out_at=at, task_token=None))

    def close(
        self, party_id: str, escalation_id: str, at: datetime, by: str | None = None
    ) -> EscalationRecord:
        record = self._existing(party_id, escalation_id)
        if record.status is EscalationStatus.CLOSED:
            return record
        return self._put(replace(record, status=EscalationStatus.CLOSED, closed_at=at, closed_by=by))

    def record_patient_notice(
        self, party_id: str, escalation_id: str, text: str, at: datetime, data: Mapping[str, object]
    ) -> bool:
        record = self._existing(party_id, escalation_id)
        if record.patient_told_at is not None:
            return False
        self._put(replace(record, patient_told_at=at))
        self.notices[escalation_id] = (text, at, dict(data))
        return True


@dataclass
class RecordingWorkflows:
    """The `WorkflowControl` port: remembers what was started and which waits were answered.

    A second start of the same escalation returns False, as Step Functions refuses the name."""

    started: list[tuple[str, str]] = field(default_factory=list)
    succeeded: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str, str]] = field(default_factory=list)

    def start(self, escalation_id: str, party_id: str) -> bool:
        if any(started == escalation_id for started, _ in self.started):
            return False
        self.started.append((escalation_id, party_id))
        return True

    def succeed_task(self, task_token: str, output: str) -> None:
        self.succeeded.append((task_token, output))

    def fail_task(self, task_token: str, error: str, cause: str) -> None:
        self.failed.append((task_token, error, cause))


@dataclass
class RecordingWorkItems:
    """The `AgentWorkItems` port: keeps each task and answers a contact id."""

    tasks: list[AgentTask] = field(default_factory=list)

    def create_task(self, task: AgentTask) -> str:
        self.tasks.append(task)
        return f"contact-{len(self.tasks)}"
