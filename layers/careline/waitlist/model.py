"""The waitlist: patients who asked for an earlier time, and the freed slots offered to them.

A freed slot is offered to one candidate at a time; each holds it for the practice's hold period.
The EHR decides who got it: the first "yes" books it, a later one finds it gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum


@dataclass(frozen=True)
class WaitlistEntry:
    """A verified patient waiting for an earlier time than the visit they have."""

    patient_id: str
    phone: str  # PHI: where the offer goes
    appointment_id: str  # the visit they would move
    practitioner_id: str
    current_start: datetime
    joined_at: datetime
    appointment_type: str | None = None


class SlotState(StrEnum):
    OPEN = "open"  # being offered (or waiting for its next candidate)
    FILLED = "filled"  # a candidate took it
    EXPIRED = "expired"  # too close to start, candidates ran out, or the EHR gave it away


@dataclass(frozen=True)
class Offer:
    patient_id: str
    offered_at: datetime
    hold_until: datetime


@dataclass(frozen=True)
class FreedSlot:
    """A booked time that was cancelled (in Careline or in the EHR) and may go to the waitlist."""

    slot_key: str  # stable id: "<practitioner id>@<start UTC ISO>"
    practitioner_id: str
    start: datetime
    end: datetime
    freed_at: datetime
    appointment_type: str | None = None
    location_id: str | None = None
    source_appointment_id: str | None = None
    state: SlotState = SlotState.OPEN
    offers: tuple[Offer, ...] = field(default_factory=tuple)
    filled_by: str | None = None

    @classmethod
    def freed(
        cls,
        practitioner_id: str,
        start: datetime,
        end: datetime,
        freed_at: datetime,
        *,
        appointment_type: str | None,
        location_id: str | None,
        source_appointment_id: str,
    ) -> FreedSlot:
        """A visit's time, freed at `freed_at`: open, offered to nobody yet."""
        return cls(
            slot_key=cls.key_for(practitioner_id, start),
            practitioner_id=practitioner_id,
            start=start,
            end=end,
            freed_at=freed_at,
            appointment_type=appointment_type,
            location_id=location_id,
            source_appointment_id=source_appointment_id,
        )

    @staticmethod
    def key_for(practitioner_id: str, start: datetime) -> str:
        return f"{practitioner_id}@{start.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"

    @property
    def current_offer(self) -> Offer | None:
        return self.offers[-1] if self.offers else None
