"""The reminder rules: when each cadence step may go out, or the named reason it is skipped.

The properties hold for arbitrary appointments, ledgers, clocks and policies; the examples pin DST,
a patient in another zone than the practice, the too-close cutoff, the caps and idempotency.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from careline.config import PracticeConfig, ReminderPolicy, ReminderStep, ReminderTier, SendWindow
from careline.reminders import (
    ReminderAppointment,
    SentMessage,
    SkipReason,
    next_allowed,
    plan_reminders,
    reminder_key,
    tier_for,
)
from hypothesis import given, settings
from hypothesis import strategies as st

LA = ZoneInfo("America/Los_Angeles")
NY = ZoneInfo("America/New_York")
ZONES = [LA, NY, ZoneInfo("America/Chicago"), ZoneInfo("America/Phoenix"), ZoneInfo("Pacific/Honolulu")]
WEEK = timedelta(days=7)


def appointment(
    starts_at: datetime,
    *,
    booked_at: datetime | None = None,
    scored_at: datetime | None = None,
    tier: str = "low",
    consent: bool = True,
    opted_out: bool = False,
    preferred: str | None = None,
    zone: ZoneInfo = LA,
    appointment_id: str = "apt-1",
) -> ReminderAppointment:
    booked = booked_at or starts_at - timedelta(days=10)
    return ReminderAppointment(
        appointment_id=appointment_id,
        patient_id="pat-1",
        starts_at=starts_at,
        booked_at=booked,
        scored_at=scored_at or booked,
        tier=tier,
        consent=consent,
        opted_out=opted_out,
        preferred_channel=preferred,  # type: ignore[arg-type]
        zone=zone,
    )


def at(zone: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=zone, fold=fold)  # type: ignore[misc]


# --- the properties -------------------------------------------------------------------------------

# Clocks spread over two years, and often near a US DST change, where wall clocks misbehave.
DST_CHANGES = [datetime(2026, 3, 8, 10, tzinfo=UTC), datetime(2026, 11, 1, 9, tzinfo=UTC)]
clocks = st.one_of(
    st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31)).map(lambda d: d.replace(tzinfo=UTC)),
    st.builds(
        lambda base, minutes: base + timedelta(minutes=minutes),
        st.sampled_from(DST_CHANGES),
        st.integers(-5 * 24 * 60, 5 * 24 * 60),
    ),
)
steps = st.builds(
    ReminderStep,
    hours_before=st.sampled_from([0.5, 1, 2, 3, 6, 12, 20, 24, 25, 36, 48, 49, 72, 96, 168]),
    channel=st.sampled_from(["sms", "email", "call_task"]),
)


@st.composite
def policies(draw: st.DrawFn) -> ReminderPolicy:
    start = draw(st.integers(0, 22))
    end = draw(st.integers(start + 1, 23))
    per_day = draw(st.integers(1, 3))
    cadence = draw(st.lists(steps, min_size=1, max_size=5, unique_by=lambda s: s.name))
    return ReminderPolicy(
        send_window=SendWindow(earliest=time(start, draw(st.sampled_from([0, 30]))), latest=time(end)),
        max_per_day=per_day,
        max_per_week=draw(st.integers(per_day, 5)),
        min_lead_minutes=draw(st.integers(0, 600)),
        tiers=(ReminderTier(name="low", from_probability=0.0, cadence=tuple(cadence)),),
    )


@st.composite
def cases(draw: st.DrawFn) -> tuple[ReminderAppointment, ReminderPolicy, list[SentMessage], datetime]:
    policy = draw(st.one_of(st.just(ReminderPolicy()), policies()))
    tier = draw(st.sampled_from([t.name for t in policy.tiers]))
    now = draw(clocks)
    starts_at = now + timedelta(minutes=draw(st.integers(-600, 20 * 24 * 60)))
    booked_at = now + timedelta(minutes=draw(st.integers(-30 * 24 * 60, 2 * 24 * 60)))
    scored_at = booked_at + timedelta(minutes=draw(st.integers(0, 3 * 24 * 60)))
    visit = appointment(
        starts_at,
        booked_at=booked_at,
        scored_at=scored_at,
        tier=tier,
        consent=draw(st.booleans()),
        opted_out=draw(st.booleans()),
        preferred=draw(st.sampled_from([None, "sms", "email"])),
        zone=draw(st.sampled_from(ZONES)),
    )
    keys = [reminder_key(visit.appointment_id, s) for t in policy.tiers for s in t.cadence]
    ledger = draw(
        st.lists(
            st.builds(
                SentMessage,
                key=st.one_of(st.sampled_from(keys), st.text("abc0123", min_size=1, max_size=6)),
                sent_at=st.integers(-10 * 24 * 60, 3 * 24 * 60).map(lambda m: now + timedelta(minutes=m)),
                channel=st.sampled_from(["sms", "email", "call_task"]),
            ),
            max_size=8,
        )
    )
    return visit, policy, ledger, now


def _day_count(times: list[datetime], day_of: datetime, zone: ZoneInfo) -> int:
    return sum(1 for t in times if t.astimezone(zone).date() == day_of.astimezone(zone).date())


def _most_in_a_week_holding(times: list[datetime], t: datetime) -> int:
    # any 7 x 24 h window [s, s + 7 d) holding t; the busiest starts at t or at a message
    starts = [s for s in [t, *times] if s <= t < s + WEEK]
    return max(sum(1 for x in times if s <= x < s + WEEK) for s in starts)


@settings(max_examples=400, deadline=None)
@given(cases())
def test_every_planned_send_keeps_every_rule(
    case: tuple[ReminderAppointment, ReminderPolicy, list[SentMessage], datetime],
) -> None:
    visit, policy, ledger, now = case
    plan = plan_reminders(visit, policy, ledger, now)
    cadence = policy.tier(visit.tier).cadence

    # every step is accounted for once, planned or skipped with a reason
    assert sorted([s.step for s in plan.sends] + [s.step for s in plan.skipped]) == sorted(
        s.name for s in cadence
    )
    keys = [s.key for s in plan.sends]
    assert len(keys) == len(set(keys))
    assert not set(keys) & {m.key for m in ledger}

    messages = [m.sent_at for m in ledger if m.is_message] + [s.send_at for s in plan.sends if s.is_message]
    for send in plan.sends:
        local = send.send_at.astimezone(visit.zone)
        assert policy.send_window.earliest <= local.time() < policy.send_window.latest
        assert send.send_at >= max(visit.booked_at, visit.scored_at, now)
        assert send.send_at <= visit.starts_at - timedelta(minutes=policy.min_lead_minutes)
        if send.is_message:
            assert visit.consent
            assert not visit.opted_out
            assert _day_count(messages, send.send_at, visit.zone) <= policy.max_per_day
            assert _most_in_a_week_holding(messages, send.send_at) <= policy.max_per_week


@settings(max_examples=200, deadline=None)
@given(cases(), st.integers(0, 3 * 24 * 60))
def test_a_rerun_after_sending_never_sends_a_step_again(
    case: tuple[ReminderAppointment, ReminderPolicy, list[SentMessage], datetime], later: int
) -> None:
    visit, policy, ledger, now = case
    first = plan_reminders(visit, policy, ledger, now)
    sent = ledger + [SentMessage(s.key, s.send_at, s.channel) for s in first.sends]
    again = plan_reminders(visit, policy, sent, now + timedelta(minutes=later))
    assert not {s.key for s in again.sends} & {s.key for s in first.sends}
    for send in first.sends:
        assert again.reason(send.step) is SkipReason.ALREADY_SENT


@settings(max_examples=300, deadline=None)
@given(
    clocks,
    st.sampled_from(ZONES),
    st.integers(0, 23),
    st.sampled_from([0, 30]),
    st.integers(0, 23),
    st.sampled_from([0, 15, 45]),
)
def test_next_allowed_is_the_first_instant_inside_the_window(
    instant: datetime, zone: ZoneInfo, start: int, start_minute: int, end: int, end_minute: int
) -> None:
    earliest, latest = time(start, start_minute), time(end, end_minute)
    if earliest >= latest:
        return
    window = SendWindow(earliest=earliest, latest=latest)
    found = next_allowed(instant, window, zone)
    assert found is not None
    assert found >= instant
    assert window.allows(found.astimezone(zone).time())
    # nothing earlier is allowed (probed every 5 minutes)
    probe = instant
    while probe < found:
        assert not window.allows(probe.astimezone(zone).time())
        probe += timedelta(minutes=5)


def test_a_window_the_clocks_fall_back_into_opens_when_they_do() -> None:
    # 2026-11-01 in Los Angeles: at 2am PDT the clocks go back to 1am PST, inside 0:30-1:45
    window = SendWindow(earliest=time(0, 30), latest=time(1, 45))
    found = next_allowed(datetime(2026, 11, 1, 8, 50, tzinfo=UTC), window, LA)  # 1:50 PDT
    assert found == datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


# --- the examples ---------------------------------------------------------------------------------


def test_the_sample_policy_is_the_issues_cadence(practice: PracticeConfig) -> None:
    policy = practice.reminders
    assert [s.name for s in policy.tier("low").cadence] == ["48h"]
    assert [s.name for s in policy.tier("medium").cadence] == ["72h", "24h"]
    assert [s.name for s in policy.tier("high").cadence] == ["72h", "48h-call", "24h"]
    assert (policy.send_window.earliest, policy.send_window.latest) == (time(8), time(21))
    assert (policy.max_per_day, policy.max_per_week, policy.min_lead_minutes) == (1, 3, 120)


@pytest.mark.parametrize(
    ("probability", "tier"),
    [(0.0, "low"), (0.149, "low"), (0.15, "medium"), (0.2999, "medium"), (0.30, "high"), (1.0, "high")],
)
def test_tier_is_the_highest_threshold_reached(probability: float, tier: str) -> None:
    assert tier_for(probability, ReminderPolicy()).name == tier


@pytest.mark.parametrize("probability", [-0.01, 1.01, float("nan")])
def test_a_probability_outside_0_1_has_no_tier(probability: float) -> None:
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        tier_for(probability, ReminderPolicy())


def test_a_step_due_in_quiet_hours_waits_for_8am() -> None:
    # 48 h before a 7:30am visit is 7:30am, before the window opens
    visit = appointment(at(LA, 2026, 6, 10, 7, 30))
    plan = plan_reminders(visit, ReminderPolicy(), [], at(LA, 2026, 6, 1, 12))
    send = plan.send("48h")
    assert send is not None
    assert send.send_at == at(LA, 2026, 6, 8, 8)
    assert send.key == "reminder#apt-1#48h"
    assert send.channel == "sms"


def test_a_step_due_at_9pm_goes_out_next_morning() -> None:
    visit = appointment(at(LA, 2026, 6, 10, 21))  # 48 h before: 9pm, the window is closed
    send = plan_reminders(visit, ReminderPolicy(), [], at(LA, 2026, 6, 1, 12)).send("48h")
    assert send is not None
    assert send.send_at == at(LA, 2026, 6, 9, 8)


def test_a_step_due_before_booking_goes_out_when_booked() -> None:
    visit = appointment(at(LA, 2026, 6, 10, 15), booked_at=at(LA, 2026, 6, 9, 10, 5))
    send = plan_reminders(visit, ReminderPolicy(), [], at(LA, 2026, 6, 9, 10, 5)).send("48h")
    assert send is not None
    assert send.send_at == at(LA, 2026, 6, 9, 10, 5)


def test_a_step_due_before_scoring_waits_for_the_score() -> None:
    booked = at(LA, 2026, 6, 9, 10)
    visit = appointment(at(LA, 2026, 6, 10, 15), booked_at=booked, scored_at=at(LA, 2026, 6, 9, 22, 0))
    send = plan_reminders(visit, ReminderPolicy(), [], booked).send("48h")
    assert send is not None
    assert send.send_at == at(LA, 2026, 6, 10, 8)  # scored after 9pm: next morning


def test_spring_forward_morning_uses_daylight_time() -> None:
    # 2026-03-08: 2am PST jumps to 3am PDT. 48 elapsed hours before 1:30am PDT on the 10th is
    # 0:30am PST on the 8th; the window opens at 8am PDT (15:00 UTC).
    visit = appointment(at(LA, 2026, 3, 10, 1, 30))
    send = plan_reminders(visit, ReminderPolicy(), [], at(LA, 2026, 3, 1, 12)).send("48h")
    assert send is not None
    assert send.send_at == datetime(2026, 3, 8, 15, tzinfo=UTC)


def test_a_window_opening_in_the_skipped_hour_opens_when_the_clocks_jump() -> None:
    window = SendWindow(earliest=time(2, 30), latest=time(21))
    found = next_allowed(datetime(2026, 3, 8, 8, 0, tzinfo=UTC), window, LA)  # 0:00 PST
    assert found == datetime(2026, 3, 8, 10, 0, tzinfo=UTC)  # 2am PST = 3am PDT, the jump
    assert found.astimezone(LA).time() == time(3)


def test_fall_back_repeated_hour_is_quiet_both_times_and_8am_is_standard_time() -> None:
    # 2026-11-01: 1am-2am happens twice (PDT, then PST); both are quiet; 8am PST is 16:00 UTC.
    for fold in (0, 1):
        due = at(LA, 2026, 11, 1, 1, 30, fold=fold)
        visit = appointment(due.astimezone(UTC) + timedelta(hours=48))
        send = plan_reminders(visit, ReminderPolicy(), [], at(LA, 2026, 10, 20, 12)).send("48h")
        assert send is not None
        assert send.send_at == datetime(2026, 11, 1, 16, tzinfo=UTC)


def test_a_window_opening_in_the_repeated_hour_opens_at_its_first_occurrence() -> None:
    window = SendWindow(earliest=time(1, 30), latest=time(21))
    found = next_allowed(datetime(2026, 11, 1, 7, 0, tzinfo=UTC), window, LA)  # 0:00 PDT
    assert found == datetime(2026, 11, 1, 8, 30, tzinfo=UTC)  # 1:30 PDT, not 1:30 PST


def test_quiet_hours_are_the_patients_not_the_practices() -> None:
    # a 7pm Pacific visit: 48 h before is 7pm in Portland but 10pm in New York
    starts = at(LA, 2026, 6, 11, 19)
    here = plan_reminders(appointment(starts, zone=LA), ReminderPolicy(), [], at(LA, 2026, 6, 1, 12))
    there = plan_reminders(appointment(starts, zone=NY), ReminderPolicy(), [], at(LA, 2026, 6, 1, 12))
    assert here.sends[0].send_at == at(LA, 2026, 6, 9, 19)
    assert there.sends[0].send_at == at(NY, 2026, 6, 10, 8)


def test_a_reminder_that_cannot_go_out_two_hours_ahead_is_too_close() -> None:
    starts = at(LA, 2026, 6, 10, 11)
    in_time = appointment(starts, booked_at=at(LA, 2026, 6, 10, 8, 59))
    late = appointment(starts, booked_at=at(LA, 2026, 6, 10, 9, 1))
    assert plan_reminders(in_time, ReminderPolicy(), [], at(LA, 2026, 6, 10, 8, 59)).sends
    plan = plan_reminders(late, ReminderPolicy(), [], at(LA, 2026, 6, 10, 9, 1))
    assert plan.reason("48h") is SkipReason.TOO_CLOSE


def test_booked_at_night_for_early_morning_is_too_close_after_deferral() -> None:
    visit = appointment(at(LA, 2026, 6, 10, 9), booked_at=at(LA, 2026, 6, 9, 21, 30))
    plan = plan_reminders(visit, ReminderPolicy(), [], at(LA, 2026, 6, 9, 21, 30))
    assert plan.reason("48h") is SkipReason.TOO_CLOSE  # 8am is one hour before


def test_a_past_visit_gets_nothing() -> None:
    visit = appointment(at(LA, 2026, 6, 10, 9))
    assert plan_reminders(visit, ReminderPolicy(), [], at(LA, 2026, 6, 10, 12)).reason("48h") is (
        SkipReason.TOO_CLOSE
    )


def test_no_consent_and_opted_out_get_no_messages_but_staff_still_get_the_call_task() -> None:
    starts = at(LA, 2026, 6, 10, 11)
    now = at(LA, 2026, 6, 1, 12)
    for visit, reason in (
        (appointment(starts, tier="high", consent=False), SkipReason.NO_CONSENT),
        (appointment(starts, tier="high", opted_out=True), SkipReason.OPTED_OUT),
    ):
        plan = plan_reminders(visit, ReminderPolicy(), [], now)
        assert [s.step for s in plan.sends] == ["48h-call"]
        assert plan.reason("72h") is reason
        assert plan.reason("24h") is reason


def test_one_message_a_day_counts_every_automated_message() -> None:
    visit = appointment(at(LA, 2026, 6, 10, 15))
    other = SentMessage("escalation#x", at(LA, 2026, 6, 8, 8, 5), "sms")
    plan = plan_reminders(visit, ReminderPolicy(), [other], at(LA, 2026, 6, 1, 12))
    assert plan.reason("48h") is SkipReason.CAP_DAY
    # a message the evening before, Pacific, is another day for the patient
    earlier = SentMessage("other", at(LA, 2026, 6, 7, 20, 59), "email")
    assert plan_reminders(visit, ReminderPolicy(), [earlier], at(LA, 2026, 6, 1, 12)).sends


def test_a_call_task_is_not_an_automated_message_for_the_caps() -> None:
    visit = appointment(at(LA, 2026, 6, 10, 15))
    call = SentMessage("reminder#other#48h-call", at(LA, 2026, 6, 8, 9), "call_task")
    assert plan_reminders(visit, ReminderPolicy(), [call], at(LA, 2026, 6, 1, 12)).sends


def test_three_a_week_is_any_seven_days_not_the_calendar_week() -> None:
    visit = appointment(at(LA, 2026, 6, 10, 15))  # 48h step: Mon Jun 8, 3pm
    sent = [SentMessage(f"m{i}", at(LA, 2026, 6, day, 10), "sms") for i, day in enumerate((2, 4, 6))]
    plan = plan_reminders(visit, ReminderPolicy(), sent, at(LA, 2026, 6, 1, 12))
    assert plan.reason("48h") is SkipReason.CAP_WEEK
    # Jun 1 falls out of the week before Jun 8, 3pm
    sent[0] = SentMessage("m0", at(LA, 2026, 6, 1, 10), "sms")
    assert plan_reminders(visit, ReminderPolicy(), sent, at(LA, 2026, 6, 1, 12)).sends


def test_the_medium_cadence_sends_twice_and_the_plan_counts_its_own_sends() -> None:
    visit = appointment(at(LA, 2026, 6, 10, 15), tier="medium")
    plan = plan_reminders(visit, ReminderPolicy(), [], at(LA, 2026, 6, 1, 12))
    assert [(s.step, s.send_at) for s in plan.sends] == [
        ("72h", at(LA, 2026, 6, 7, 15)),
        ("24h", at(LA, 2026, 6, 9, 15)),
    ]
    # booked a day ahead: the 72 h step goes now, and the 24 h step would be the same day
    booked = at(LA, 2026, 6, 9, 9)
    late = appointment(at(LA, 2026, 6, 10, 15), booked_at=booked, tier="medium")
    plan = plan_reminders(late, ReminderPolicy(), [], booked)
    assert [s.step for s in plan.sends] == ["72h"]
    assert plan.reason("24h") is SkipReason.CAP_DAY


def test_a_retried_campaign_never_double_texts() -> None:
    visit = appointment(at(LA, 2026, 6, 10, 15), tier="high")
    now = at(LA, 2026, 6, 1, 12)
    plan = plan_reminders(visit, ReminderPolicy(), [], now)
    first = plan.sends[0]
    retry = plan_reminders(visit, ReminderPolicy(), [SentMessage(first.key, first.send_at, "sms")], now)
    assert retry.reason(first.step) is SkipReason.ALREADY_SENT
    assert first.key not in {s.key for s in retry.sends}


def test_a_patient_who_prefers_email_gets_email_and_staff_still_get_the_call() -> None:
    visit = appointment(at(LA, 2026, 6, 10, 15), tier="high", preferred="email")
    plan = plan_reminders(visit, ReminderPolicy(), [], at(LA, 2026, 6, 1, 12))
    assert [(s.step, s.channel) for s in plan.sends] == [
        ("72h", "email"),
        ("48h-call", "call_task"),
        ("24h", "email"),
    ]


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        appointment(datetime(2026, 6, 10, 15))


def test_an_appointment_id_with_the_key_separator_is_refused() -> None:
    with pytest.raises(ValueError, match="'#'"):
        appointment(at(LA, 2026, 6, 10, 15), appointment_id="a#b")
