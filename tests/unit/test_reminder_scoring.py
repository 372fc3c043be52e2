"""The nightly scoring job: FHIR visits scored with the shipped model, tiered, watched; the EHR's
cancellations and outcomes seen."""

from __future__ import annotations

from datetime import timedelta

import pytest
from careline.composition import RISK_MODEL_PATH
from careline.config import load_practice_config
from careline.reminders.model import VisitOutcome
from careline.reminders.ports import VisitResources
from careline.reminders.scoring import RiskScoring, contact_of
from careline.risk.model import load
from careline.waitlist.model import FreedSlot

from tests.unit.fakes import SAMPLE_CONFIG, FixedClock, local
from tests.unit.reminder_fakes import (
    FakeSchedule,
    InMemoryReminderStore,
    InMemoryWaitlistStore,
    fhir_appointment,
    fhir_patient,
    past_visits,
)

NOW = local(2026, 6, 8, 2, 0)  # the nightly run, 2am practice time


@pytest.fixture(scope="module")
def model():  # type: ignore[no-untyped-def]
    return load(RISK_MODEL_PATH)


def visit(
    appointment_id: str,
    patient_id: str,
    *,
    days: int = 3,
    birth_date: str = "1980-01-01",
    booked_days_ago: int = 10,
    history: dict[str, int] | None = None,
    **patient: object,
) -> VisitResources:
    start = NOW.replace(hour=10) + timedelta(days=days)
    return VisitResources(
        appointment=fhir_appointment(
            appointment_id, patient_id, start, created=NOW - timedelta(days=booked_days_ago)
        ),
        patient=fhir_patient(patient_id, birth_date=birth_date, **patient),  # type: ignore[arg-type]
        past_appointments=past_visits(patient_id, NOW, history or {}),
    )


def scoring(schedule: FakeSchedule, store: InMemoryReminderStore, model, clock=None, waitlist=None):  # type: ignore[no-untyped-def]
    return RiskScoring(
        config=load_practice_config(SAMPLE_CONFIG),
        source=schedule,
        model=model,
        store=store,
        clock=clock or FixedClock(NOW),
        waitlist=waitlist,
    )


def test_each_booked_visit_in_the_horizon_is_scored_tiered_and_watched(model) -> None:  # type: ignore[no-untyped-def]
    schedule = FakeSchedule(
        [
            visit("a-young", "p1", birth_date="2004-05-01", booked_days_ago=40, history={"noshow": 3}),
            visit("a-steady", "p2", birth_date="1950-01-01", booked_days_ago=1, history={"fulfilled": 4}),
            visit("a-far", "p3", days=20),  # beyond the 14-day horizon
        ]
    )
    store = InMemoryReminderStore()
    report = scoring(schedule, store, model).run()

    assert report.scored == 2
    assert report.failed == 0
    young, steady = store.visits["a-young"], store.visits["a-steady"]
    assert young.tier == "high"
    assert young.probability > 0.3
    assert steady.tier == "low"
    assert steady.probability < 0.15
    assert report.by_tier == {"high": 1, "low": 1}
    assert "a-far" not in store.visits
    assert young.model_version == model.version
    assert young.scored_at == NOW
    assert young.booked_at == NOW - timedelta(days=40)
    assert young.phone == "+15035550111"
    assert young.consent
    assert young.preferred_channel == "sms"
    assert young.zone == "America/Los_Angeles"
    assert young.practitioner_id == "dr-chen"


def test_a_patient_in_new_york_is_watched_in_new_york_time(model) -> None:  # type: ignore[no-untyped-def]
    store = InMemoryReminderStore()
    scoring(FakeSchedule([visit("a1", "p1", state="NY", phone="+12125550100")]), store, model).run()
    assert store.visits["a1"].zone == "America/New_York"


def test_a_visit_that_cannot_be_scored_is_counted_and_the_rest_go_on(model) -> None:  # type: ignore[no-untyped-def]
    broken = visit("a-broken", "p9")
    del broken.appointment["participant"]
    store = InMemoryReminderStore()
    report = scoring(FakeSchedule([broken, visit("a1", "p1")]), store, model).run()
    assert report.failed == 1
    assert report.scored == 1
    assert set(store.visits) == {"a1"}


def test_rescoring_keeps_the_first_scoring_time_while_the_tier_holds(model) -> None:  # type: ignore[no-untyped-def]
    schedule = FakeSchedule([visit("a1", "p1")])
    store = InMemoryReminderStore()
    clock = FixedClock(NOW)
    scoring(schedule, store, model, clock).run()
    store.record_outcome("a1", VisitOutcome.REMINDED, NOW)
    clock.advance(timedelta(days=1))
    scoring(schedule, store, model, clock).run()
    again = store.visits["a1"]
    assert again.scored_at == NOW
    assert again.outcome is VisitOutcome.REMINDED  # what happened is kept across scorings


def test_a_cancellation_in_the_ehr_is_seen_and_its_time_goes_to_the_waitlist(model) -> None:  # type: ignore[no-untyped-def]
    schedule = FakeSchedule([visit("a1", "p1"), visit("a2", "p2")])
    store, waitlist = InMemoryReminderStore(), InMemoryWaitlistStore()
    clock = FixedClock(NOW)
    scoring(schedule, store, model, clock, waitlist).run()

    schedule.visits[0].appointment["status"] = "cancelled"  # the front desk cancelled it in the EHR
    schedule.statuses["a1"] = "cancelled"
    clock.advance(timedelta(days=1))
    report = scoring(schedule, store, model, clock, waitlist).run()

    assert report.cancelled_seen == 1
    assert store.visits["a1"].cancelled
    assert store.visits["a1"].outcome is VisitOutcome.CANCELLED
    start = store.visits["a1"].starts_at
    assert list(waitlist.slots) == [FreedSlot.key_for("dr-chen", start)]
    assert waitlist.slots[FreedSlot.key_for("dr-chen", start)].source_appointment_id == "a1"
    assert schedule.asked == ["a1"]  # only the visit that stopped being booked is looked up


def test_a_passed_visit_gets_its_final_outcome_and_the_rate_by_tier_is_reported(model) -> None:  # type: ignore[no-untyped-def]
    schedule = FakeSchedule([visit("a1", "p1", days=1), visit("a2", "p2", days=1)])
    store = InMemoryReminderStore()
    clock = FixedClock(NOW)
    scoring(schedule, store, model, clock).run()
    for v in schedule.visits:
        v.appointment["status"] = "fulfilled"
    schedule.statuses.update({"a1": "noshow", "a2": "fulfilled"})
    clock.advance(timedelta(days=2))
    report = scoring(schedule, store, model, clock).run()
    assert report.outcomes_seen == 2
    assert store.visits["a1"].outcome is VisitOutcome.NO_SHOW
    assert store.visits["a2"].outcome is VisitOutcome.ATTENDED
    # and the night's report carries the no-show rate of their tier over settled visits
    tier = store.visits["a1"].tier
    (row,) = [t for t in report.to_json()["outcomes_by_tier"] if t["tier"] == tier]
    assert row["no_show"] == 1
    assert row["attended"] == 1
    assert row["no_show_rate"] == 0.5


def test_contact_consent_is_a_mobile_number_or_a_reachable_email() -> None:
    mobile = contact_of(fhir_patient("p"), email_enabled=False, now=NOW)
    assert (mobile.phone, mobile.consent, mobile.preferred_channel) == ("+15035550111", True, "sms")

    landline = contact_of(fhir_patient("p", phone_use="home"), email_enabled=False, now=NOW)
    assert (landline.phone, landline.consent, landline.preferred_channel) == (None, False, None)

    prefers_email = fhir_patient("p", email="pat@example.org", email_rank=1)
    both = contact_of(prefers_email, email_enabled=True, now=NOW)
    assert both.preferred_channel == "email"
    assert both.phone == "+15035550111"
    # a practice that sends no email texts them
    assert contact_of(prefers_email, email_enabled=False, now=NOW).preferred_channel == "sms"
    ranked_after = fhir_patient("p", email="pat@example.org", email_rank=3)
    assert contact_of(ranked_after, email_enabled=True, now=NOW).preferred_channel == "sms"

    ended = fhir_patient("p")
    ended["telecom"][0]["period"] = {"end": "2020-01-01"}
    assert contact_of(ended, email_enabled=False, now=NOW).consent is False


def test_the_no_show_rate_is_reported_by_tier_over_settled_visits(model) -> None:  # type: ignore[no-untyped-def]
    from careline.reminders.report import outcomes_by_tier

    store = InMemoryReminderStore()
    schedule = FakeSchedule(
        [
            visit(f"h{i}", f"ph{i}", birth_date="2004-05-01", booked_days_ago=40, history={"noshow": 3})
            for i in range(3)
        ]
        + [visit("l1", "pl1", birth_date="1950-01-01", booked_days_ago=1, history={"fulfilled": 4})]
    )
    scoring(schedule, store, model).run()
    store.record_outcome("h0", VisitOutcome.NO_SHOW, NOW)
    store.record_outcome("h1", VisitOutcome.ATTENDED, NOW)
    store.record_outcome("h2", VisitOutcome.CONFIRMED, NOW)
    report = {
        t.tier: t for t in outcomes_by_tier(store, NOW, NOW + timedelta(days=14), ["low", "medium", "high"])
    }
    assert report["high"].visits == 3
    assert report["high"].no_show_rate == 0.5
    assert report["low"].no_show_rate is None
    assert report["medium"].visits == 0
    assert report["high"].to_json()["confirmed"] == 1


def test_a_landline_is_kept_for_staff_to_call() -> None:
    landline = contact_of(fhir_patient("p", phone_use="home"), email_enabled=False, now=NOW)
    assert landline.phone is None
    assert landline.call_phone == "+15035550111"
    mobile = contact_of(fhir_patient("p"), email_enabled=False, now=NOW)
    assert mobile.call_phone == mobile.phone
