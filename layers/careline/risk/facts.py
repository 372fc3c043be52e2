"""One appointment and what the practice knew about its patient before the day of the visit.

`AppointmentFacts` is the neutral record the no-show risk model reads, whoever filled it in: the
training CSV (`careline_local.risk_training`) or the practice's EHR at scoring time
(`careline.risk.fhir`). Both go through the same `careline.risk.features.risk_features`, so what
the model learned and what it is shown are computed by one piece of code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class CoverageKind(StrEnum):
    """Public assistance (Medicaid, CHIP; Bolsa Família in the training data) or anything else."""

    PUBLIC_ASSISTANCE = "public_assistance"
    OTHER = "other"


class Outcome(StrEnum):
    ATTENDED = "attended"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class PriorAppointment:
    """One of the patient's earlier appointments: its day and how it ended."""

    day: date
    outcome: Outcome


@dataclass(frozen=True)
class AppointmentFacts:
    """The appointment to score and its patient's history.

    `starts_at` is the visit's local start time when the source has one (FHIR does, the training
    CSV does not). `booked_at` is when it was booked (None: unknown). `prior` may hold any of the
    patient's appointments: the features only ever count those on a day before `starts_on`.
    """

    starts_on: date
    booked_at: datetime | None
    age: int | None
    sex: Sex
    reminder_sent: bool
    coverage: CoverageKind
    hypertension: bool = False
    diabetes: bool = False
    alcohol_use: bool = False
    disability_level: int = 0
    starts_at: time | None = None
    prior: tuple[PriorAppointment, ...] = ()

    @property
    def lead_days(self) -> int | None:
        """Whole days from booking to the visit (0: booked the same day); None when unknown."""
        if self.booked_at is None:
            return None
        return (self.starts_on - self.booked_at.date()).days
