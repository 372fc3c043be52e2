"""What the reminder side remembers of each booked visit it watches, and what happened to it.

`WatchedVisit` is one booked appointment in the scoring horizon, as the nightly job scored it: its
risk and tier, and what the campaign needs to reach the patient (number, email, consent, zone).
The phone and email are PHI and are stored encrypted; nothing clinical is kept (the risk features
are computed and thrown away). `VisitOutcome` is how it ended, recorded so the no-show rate can be
reported by tier.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Literal

MessageChannel = Literal["sms", "email"]


class VisitOutcome(StrEnum):
    """What became of a watched visit. `reminded` only until something better is known."""

    REMINDED = "reminded"
    CONFIRMED = "confirmed"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    ATTENDED = "attended"


# an outcome only moves forward: a confirmed visit that is then cancelled is cancelled, and what
# the EHR says at the end (attended, no-show) is final
OUTCOME_RANK: dict[VisitOutcome, int] = {
    VisitOutcome.REMINDED: 0,
    VisitOutcome.CONFIRMED: 1,
    VisitOutcome.RESCHEDULED: 2,
    VisitOutcome.CANCELLED: 2,
    VisitOutcome.NO_SHOW: 3,
    VisitOutcome.ATTENDED: 3,
}


@dataclass(frozen=True)
class WatchedVisit:
    """One booked visit the reminder side watches (ids are the EHR's logical ids)."""

    appointment_id: str
    patient_id: str
    practitioner_id: str
    starts_at: datetime
    ends_at: datetime
    booked_at: datetime
    scored_at: datetime
    probability: float  # calibrated no-show probability
    tier: str
    model_version: str
    zone: str  # the patient's IANA zone (careline.reminders.timezones.patient_zone)
    phone: str | None  # PHI: the E.164 number texts go to
    email: str | None  # PHI
    consent: bool
    preferred_channel: MessageChannel | None
    # PHI: the number staff call for a call step (the texting number, else any number on file: a
    # landline patient gets no texts but still gets the call)
    call_phone: str | None = None
    slot_id: str | None = None
    appointment_type: str | None = None
    location_id: str | None = None
    cancelled: bool = False  # the EHR (or a reply) cancelled it since it was scored
    outcome: VisitOutcome | None = None
    outcome_at: datetime | None = None

    def with_outcome(self, outcome: VisitOutcome, at: datetime) -> WatchedVisit:
        """This visit with `outcome`, unless it already has one at least as final."""
        if self.outcome is not None and OUTCOME_RANK[self.outcome] >= OUTCOME_RANK[outcome]:
            return self
        return replace(self, outcome=outcome, outcome_at=at)
