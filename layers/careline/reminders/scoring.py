"""The nightly scoring job: every booked visit in the horizon scored, tiered and watched.

`RiskScoring.run` reads the booked visits of the next `reminders.horizon_days` from the EHR, scores
each with the shipped no-show model through the same feature code training used
(`careline.risk.facts_from_fhir` → `RiskModel.probability`), and stores it as a `WatchedVisit`
with its tier and how the patient can be reached. It is also the sync with the EHR: a watched
visit that is no longer booked is looked up, and a cancellation (made in the EHR, at the front
desk, anywhere) frees its time for the waitlist; a visit that has passed gets its final outcome
(attended or no-show), so the no-show rate can be reported by tier.

One visit that cannot be scored (a resource without what scoring needs) is counted and logged
by id, never by content, and the rest go on. An EHR that cannot answer raises `EhrUnavailable`:
the job fails loudly and the scheduler's retry and alarm take over (nothing is half-written,
since what was scored is saved in one batch at the end).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from careline.config import PracticeConfig
from careline.ehr.fhir import normalize_phone, parse_instant, to_appointment
from careline.observability import logger
from careline.ports import Clock
from careline.reminders.model import MessageChannel, VisitOutcome, WatchedVisit
from careline.reminders.ports import ReminderStore, ScheduleSource, VisitResources
from careline.reminders.report import TierOutcomes, outcomes_by_tier
from careline.reminders.tiers import tier_for
from careline.reminders.timezones import patient_zone
from careline.risk.fhir import RiskInputError, facts_from_fhir
from careline.risk.model import RiskModel
from careline.waitlist.model import FreedSlot
from careline.waitlist.ports import WaitlistStore

# a visit that passed is looked up for its outcome for this long after it started
OUTCOME_LOOKBACK: Final = timedelta(days=7)
# the no-show rate by tier is reported over the visits of this many days before the run
REPORT_DAYS: Final = 30
_ATTENDED: Final = frozenset({"fulfilled", "arrived", "checked-in"})
_GONE: Final = frozenset({"cancelled", "entered-in-error"})


@dataclass(frozen=True)
class ScoringReport:
    scored: int = 0
    failed: int = 0
    cancelled_seen: int = 0
    outcomes_seen: int = 0
    by_tier: dict[str, int] = field(default_factory=dict)
    # how the visits of the last REPORT_DAYS ended, per tier, with the no-show rate
    outcomes: tuple[TierOutcomes, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "scored": self.scored,
            "failed": self.failed,
            "cancelled_seen": self.cancelled_seen,
            "outcomes_seen": self.outcomes_seen,
            "by_tier": dict(sorted(self.by_tier.items())),
            "outcomes_by_tier": [t.to_json() for t in self.outcomes],
        }


@dataclass(frozen=True)
class Contact:
    """How a patient can be reached by an automated message, from `Patient.telecom`."""

    phone: str | None
    email: str | None
    consent: bool
    preferred_channel: MessageChannel | None
    call_phone: str | None = None  # any number on file, for staff to call


def contact_of(patient: Mapping[str, Any], *, email_enabled: bool, now: datetime) -> Contact:
    """The patient's texting number and email, whether they may get automated reminders, and by
    which channel they prefer them.

    A mobile number the patient gave (`sms`, or `phone` with use `mobile`) is their consent to
    appointment reminders by text (docs/decisions/0016); STOP, kept by Careline, overrides it. An
    email address counts when the practice sends email. The preferred channel is the one with the
    lower `rank` (FHIR: 1 is the most preferred); email wins only when ranked ahead of the number.
    """
    phone: tuple[int, str] | None = None
    other_phone: tuple[int, str] | None = None
    email: tuple[int, str] | None = None
    for point in patient.get("telecom") or ():
        if not isinstance(point, Mapping) or _ended(point, now):
            continue
        system, use, value = point.get("system"), point.get("use"), point.get("value")
        if not isinstance(value, str) or not value.strip():
            continue
        given = point.get("rank")
        rank = given if isinstance(given, int) else 1_000
        if system == "sms" or (system == "phone" and use == "mobile"):
            number = normalize_phone(value)
            if number is not None and (phone is None or rank < phone[0]):
                phone = (rank, number)
        elif system == "phone":
            number = normalize_phone(value)
            if number is not None and (other_phone is None or rank < other_phone[0]):
                other_phone = (rank, number)
        elif system == "email" and "@" in value and (email is None or rank < email[0]):
            email = (rank, value.strip())
    reachable_email = email if email_enabled else None
    preferred: MessageChannel | None = None
    if reachable_email is not None and (phone is None or reachable_email[0] < phone[0]):
        preferred = "email"
    elif phone is not None:
        preferred = "sms"
    return Contact(
        phone=phone[1] if phone else None,
        email=email[1] if email else None,
        consent=phone is not None or reachable_email is not None,
        preferred_channel=preferred,
        call_phone=phone[1] if phone else other_phone[1] if other_phone else None,
    )


def _ended(point: Mapping[str, Any], now: datetime) -> bool:
    period = point.get("period")
    end = period.get("end") if isinstance(period, Mapping) else None
    if not isinstance(end, str):
        return False
    try:
        ended = datetime.fromisoformat(end if len(end) > 10 else end + "T00:00:00+00:00")
    except ValueError:
        return False
    if ended.tzinfo is None:
        ended = ended.replace(tzinfo=UTC)
    return ended < now


def _state(patient: Mapping[str, Any]) -> str | None:
    addresses = [a for a in patient.get("address") or () if isinstance(a, Mapping)]
    home = [a for a in addresses if a.get("use") in (None, "home")] or addresses
    for address in home:
        state = address.get("state")
        if isinstance(state, str) and state.strip():
            return state
    return None


class RiskScoring:
    def __init__(
        self,
        *,
        config: PracticeConfig,
        source: ScheduleSource,
        model: RiskModel,
        store: ReminderStore,
        clock: Clock,
        waitlist: WaitlistStore | None = None,
        email_enabled: bool = False,
    ) -> None:
        self._config = config
        self._policy = config.reminders
        self._source = source
        self._model = model
        self._store = store
        self._clock = clock
        self._waitlist = waitlist
        self._email_enabled = email_enabled

    def run(self) -> ScoringReport:
        now = self._clock.now().astimezone(UTC)
        end = now + timedelta(days=self._policy.horizon_days)
        booked = self._source.booked_between(now, end)
        known = {v.appointment_id: v for v in self._store.visits_starting(now - OUTCOME_LOOKBACK, end)}
        visits: list[WatchedVisit] = []
        failed = 0
        for resources in booked:
            try:
                visits.append(self._watch(resources, known, now))
            except (RiskInputError, ValueError, KeyError) as exc:
                failed += 1
                logger.warning(
                    "visit not scored",
                    extra={
                        "appointment_id": str(resources.appointment.get("id")),
                        "error": type(exc).__name__,
                    },
                )
        self._store.save_visits(visits)
        seen = {v.appointment_id for v in visits}
        cancelled, outcomes = self._sync([v for v in known.values() if v.appointment_id not in seen], now)
        tiers = [t.name for t in self._policy.tiers]
        self._store.scoring_finished(now)
        return ScoringReport(
            scored=len(visits),
            failed=failed,
            cancelled_seen=cancelled,
            outcomes_seen=outcomes,
            by_tier=dict(Counter(v.tier for v in visits)),
            outcomes=tuple(outcomes_by_tier(self._store, now - timedelta(days=REPORT_DAYS), now, tiers)),
        )

    def _watch(
        self, resources: VisitResources, known: Mapping[str, WatchedVisit], now: datetime
    ) -> WatchedVisit:
        record = to_appointment(resources.appointment)
        if record is None:
            raise RiskInputError("Appointment lacks a start, end or patient")
        before = known.get(record.id)
        facts = facts_from_fhir(
            resources.appointment,
            resources.patient,
            conditions=resources.conditions,
            coverages=resources.coverages,
            past_appointments=resources.past_appointments,
            reminder_sent=before is not None and before.outcome is not None,
        )
        probability = self._model.probability(facts)
        tier = tier_for(probability, self._policy).name
        contact = contact_of(resources.patient, email_enabled=self._email_enabled, now=now)
        zone = patient_zone(
            state=_state(resources.patient), phone=contact.phone, practice_zone=self._config.practice.timezone
        )
        created = resources.appointment.get("created")
        booked_at = parse_instant(created) or (before.booked_at if before else now)
        # the tier's cadence counts from the first scoring that gave it: re-scoring a visit every
        # night must not make its overdue steps look newly due
        scored_at = before.scored_at if before is not None and before.tier == tier else now
        visit = WatchedVisit(
            appointment_id=record.id,
            patient_id=record.patient_id,
            practitioner_id=record.practitioner_id,
            starts_at=record.start,
            ends_at=record.end,
            booked_at=min(booked_at, record.start),
            scored_at=scored_at,
            probability=round(probability, 6),
            tier=tier,
            model_version=self._model.version,
            zone=zone.zone.key,
            phone=contact.phone,
            email=contact.email,
            consent=contact.consent,
            preferred_channel=contact.preferred_channel,
            call_phone=contact.call_phone,
            slot_id=record.slot_id,
            appointment_type=record.appointment_type,
            location_id=record.location_id,
        )
        if before is not None:
            visit = replace(visit, outcome=before.outcome, outcome_at=before.outcome_at)
        return visit

    def _sync(self, missing: Sequence[WatchedVisit], now: datetime) -> tuple[int, int]:
        """Watched visits no longer among the booked ones: what became of them in the EHR."""
        cancelled = outcomes = 0
        for visit in missing:
            if visit.cancelled or visit.outcome in (VisitOutcome.NO_SHOW, VisitOutcome.ATTENDED):
                continue
            status = self._source.appointment_status(visit.appointment_id)
            if status is None or status in _GONE:
                self._store.mark_cancelled(visit.appointment_id, now)
                if status is not None:
                    self._store.record_outcome(visit.appointment_id, VisitOutcome.CANCELLED, now)
                cancelled += 1
                self._free(visit, now)
            elif status == "noshow":
                self._store.record_outcome(visit.appointment_id, VisitOutcome.NO_SHOW, now)
                outcomes += 1
            elif status in _ATTENDED:
                self._store.record_outcome(visit.appointment_id, VisitOutcome.ATTENDED, now)
                outcomes += 1
        return cancelled, outcomes

    def _free(self, visit: WatchedVisit, now: datetime) -> None:
        if self._waitlist is None or visit.starts_at <= now:
            return
        self._waitlist.slot_freed(
            FreedSlot.freed(
                visit.practitioner_id,
                visit.starts_at,
                visit.ends_at,
                now,
                appointment_type=visit.appointment_type,
                location_id=visit.location_id,
                source_appointment_id=visit.appointment_id,
            )
        )
