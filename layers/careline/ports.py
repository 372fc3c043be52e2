"""Ports: what the domain core needs from the outside world, as Protocols.

Adapters (DynamoDB, End User Messaging, EventBridge, local fakes) implement these; the composition
root (`careline.composition`) picks which. Nothing here imports AWS.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol

from careline.conversation.model import (
    ConversationContext,
    DomainEvent,
    EscalationRequest,
    TimelineEntry,
)
from careline.ehr.model import (
    AppointmentRecord,
    FreeSlot,
    PatientRecord,
    Practitioner,
    SlotQuery,
)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        ...


class PartyKeys(Protocol):
    def party_for_phone(self, phone: str) -> str:
        """A stable keyed hash of an E.164 number: safe for keys and indexes, useless to a reader."""
        ...


class ContextStore(Protocol):
    def load(self, party_id: str) -> ConversationContext | None:
        """The party's context, or None for someone Careline has not heard from."""
        ...

    def save_turn(
        self,
        context: ConversationContext,
        entries: Sequence[TimelineEntry],
        escalations: Sequence[EscalationRequest] = (),
        *,
        patient_key: str | None = None,
    ) -> None:
        """Persist the context, timeline entries and escalations of one turn in one write.

        `patient_key` (a keyed hash of a verified patient's id): the context holds that patient's
        open flow; the same write records which party holds it, for `party_with_open_flow`.
        Raises `careline.errors.ConcurrentTurnError` if `context.version` moved since load.
        """
        ...

    def set_human_owner(self, party_id: str, owner: str | None) -> None:
        """Staff member `owner` takes the conversation over, or (None) hands it back to Careline,
        which also clears the open-escalation flag. Moves the version. `KeyError`: no such party."""
        ...

    def record_staff_message(self, party_id: str, entry: TimelineEntry) -> None:
        """Add a message staff sent to the party's timeline, outside any turn."""
        ...

    def party_with_open_flow(self, patient_key: str) -> str | None:
        """The party whose context last held an open flow of the patient `patient_key`, if any
        recently (the record is kept a day); the caller checks that context still holds it."""
        ...

    def timeline(self, party_id: str, limit: int | None = None) -> list[TimelineEntry]:
        """The party's timeline, oldest first, in one query."""
        ...


class Messenger(Protocol):
    def send_sms(self, to_number: str, body: str) -> str:
        """Send one SMS from the practice's origination identity; returns the provider message id."""
        ...


class EventBus(Protocol):
    def publish(self, events: Sequence[DomainEvent]) -> None:
        """Publish domain events (no PHI in them)."""
        ...


class Ehr(Protocol):
    """The practice's EHR (FHIR R4 in production). Every method raises `EhrUnavailable` when the
    EHR cannot be reached in time, never a transport exception."""

    def find_patients_by_phone(self, phone: str) -> list[PatientRecord]:
        """Patients whose telecom holds this E.164 number (any use)."""
        ...

    def find_patients_by_name_and_birth_date(
        self, given_name: str, family_name: str, birth_date: date
    ) -> list[PatientRecord]:
        """Patients matching the name (case- and accent-insensitive) and date of birth exactly."""
        ...

    def practitioners(self) -> list[Practitioner]:
        """The practice's practitioners."""
        ...

    def upcoming_appointments(self, patient_id: str, after: datetime) -> list[AppointmentRecord]:
        """The patient's booked appointments starting at or after `after`, soonest first."""
        ...

    def free_slots(self, query: SlotQuery) -> list[FreeSlot]:
        """Free slots matching `query`, earliest first."""
        ...

    def book(self, patient_id: str, slot: FreeSlot, appointment_type: str | None = None) -> AppointmentRecord:
        """Book `slot` for the patient: create the Appointment and mark the Slot busy atomically
        where the server supports it. Raises `SlotTaken` if someone else got it first."""
        ...

    def reschedule(self, appointment: AppointmentRecord, slot: FreeSlot) -> AppointmentRecord:
        """Book the new slot, then cancel the old appointment; if cancelling fails, undo the
        booking and re-raise. Returns the new appointment."""
        ...

    def cancel(self, appointment: AppointmentRecord, reason: str) -> AppointmentRecord:
        """Cancel with a reason and free its slot."""
        ...

    def confirm(self, appointment: AppointmentRecord) -> AppointmentRecord:
        """Record on the appointment that the patient confirmed they will come (confirming again
        changes nothing). Raises `NotFound` if it is gone or no longer booked."""
        ...

    def record_communication(self, patient_id: str, summary: str, channel: str, sent: datetime) -> str:
        """Write a finished conversation back as a Communication on the patient; returns its id."""
        ...
