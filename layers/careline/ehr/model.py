"""What Careline needs to know of the EHR's patients, schedules and appointments.

Plain values, free of FHIR and AWS: the `Ehr` port (careline.ports) speaks these, and the FHIR
adapter maps them to and from R4 resources. Names, dates of birth and phone numbers are PHI.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class AppointmentStatus(StrEnum):
    """The FHIR R4 Appointment.status values Careline reads or writes."""

    PROPOSED = "proposed"
    PENDING = "pending"
    BOOKED = "booked"
    ARRIVED = "arrived"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    NOSHOW = "noshow"
    CHECKED_IN = "checked-in"


@dataclass(frozen=True)
class PatientRecord:
    """A patient as the EHR holds them. `id` is the EHR's logical id (not PHI on its own)."""

    id: str
    given_name: str
    family_name: str
    birth_date: date | None
    phones: tuple[str, ...] = ()  # E.164

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()


@dataclass(frozen=True)
class Practitioner:
    id: str
    name: str  # as patients are told it, e.g. "Dr. Lily Chen"


@dataclass(frozen=True)
class FreeSlot:
    """A bookable slot. `version` is the EHR's version id, used to refuse a booking of a slot that
    changed since it was offered (someone else took it)."""

    id: str
    practitioner_id: str
    start: datetime
    end: datetime
    appointment_type: str | None = None
    location_id: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class AppointmentRecord:
    id: str
    patient_id: str
    practitioner_id: str
    start: datetime
    end: datetime
    status: AppointmentStatus
    slot_id: str | None = None
    appointment_type: str | None = None
    location_id: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class SlotQuery:
    """Free slots wanted: in [earliest, latest), optionally one practitioner and one appointment type."""

    earliest: datetime
    latest: datetime
    practitioner_id: str | None = None
    appointment_type: str | None = None
    limit: int = 50
