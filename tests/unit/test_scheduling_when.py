"""Time preferences read from patients' words, on the practice's local calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from careline.config import PracticeConfig
from careline.scheduling.when import TimePreference, TimeWindow, parse_time_preference
from hypothesis import given, settings
from hypothesis import strategies as st

TZ = ZoneInfo("America/Los_Angeles")
# Tuesday Dec 1 2026, 10:15 in Portland
TUESDAY_MORNING = datetime(2026, 12, 1, 10, 15, tzinfo=TZ)


def parse(text: str, now: datetime = TUESDAY_MORNING) -> TimePreference:
    preference = parse_time_preference(text, now, TZ)
    assert preference is not None, text
    return preference


def days(preference: TimePreference) -> list[date]:
    return sorted({day for w in preference.windows for day in w.days()})


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TZ)


@pytest.mark.parametrize(
    ("text", "day", "start", "end"),
    [
        ("next tuesday afternoon", date(2026, 12, 8), time(12), time(17)),
        ("tmrw after 3", date(2026, 12, 2), time(15), None),
        ("dec 3 at 9:30", date(2026, 12, 3), time(9), time(10)),
        ("this friday morning", date(2026, 12, 4), time(6), time(12)),
        ("next tuesday at nine thirty", date(2026, 12, 8), time(9), time(10)),
        ("Tomorow afternon", date(2026, 12, 2), time(12), time(17)),
        ("thurs between 2 and 4", date(2026, 12, 3), time(14), time(16)),
        ("wed 2-4", date(2026, 12, 2), time(14), time(16)),
        ("fri 930am", date(2026, 12, 4), time(9), time(10)),
        ("2morrow @ 11", date(2026, 12, 2), time(10, 30), time(11, 30)),
        ("late afternoon on the 10th", date(2026, 12, 10), time(15), time(17)),
        ("the 3rd of january at 10", date(2027, 1, 3), time(9, 30), time(10, 30)),
    ],
)
def test_a_day_and_a_time_of_day_become_one_local_window(
    text: str, day: date, start: time, end: time | None
) -> None:
    preference = parse(text)
    assert len(preference.windows) == 1
    window = preference.windows[0]
    assert (window.first_day, window.last_day) == (day, day)
    assert window.times is not None
    assert (window.times.start, window.times.end) == (start, end)


def test_bare_hours_from_one_to_six_are_afternoon_and_the_evening_makes_seven_pm() -> None:
    assert parse("tomorrow at 3").targets == (time(15),)
    assert parse("tomorrow at 9").targets == (time(9),)
    assert parse("tonight at 7").targets == (time(19),)
    assert parse("three p m").targets == (time(15),)
    assert parse("tuesday 10 am").targets == (time(10),)
    assert parse("quarter to 3 tomorrow").targets == (time(14, 45),)


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("any time next week", date(2026, 12, 7), date(2026, 12, 13)),
        ("early next week", date(2026, 12, 7), date(2026, 12, 9)),
        ("in 2 weeks", date(2026, 12, 14), date(2026, 12, 20)),
        ("in two weeks", date(2026, 12, 14), date(2026, 12, 20)),
        ("the week after next", date(2026, 12, 14), date(2026, 12, 20)),
        ("later this week", date(2026, 12, 3), date(2026, 12, 6)),
        ("next month", date(2027, 1, 1), date(2027, 1, 31)),
        ("sometime in january", date(2027, 1, 1), date(2027, 1, 31)),
        ("in a few days", date(2026, 12, 3), date(2026, 12, 5)),
    ],
)
def test_a_span_of_days_is_kept_whole(text: str, first: date, last: date) -> None:
    assert days(parse(text)) == [first + timedelta(days=n) for n in range((last - first).days + 1)]


def test_two_days_joined_by_or_are_two_windows_sharing_the_time_said_last() -> None:
    preference = parse("monday or wednesday afternoon")
    assert days(preference) == [date(2026, 12, 2), date(2026, 12, 7)]
    assert all(w.times is not None and w.times.start == time(12) for w in preference.windows)


def test_weekdays_named_with_next_week_fall_in_next_week() -> None:
    assert days(parse("monday or wednesday next week")) == [date(2026, 12, 7), date(2026, 12, 9)]


def test_the_15th_and_a_slash_date_are_their_next_dates() -> None:
    assert days(parse("the 15th")) == [date(2026, 12, 15)]
    assert days(parse("the fifteenth")) == [date(2026, 12, 15)]
    assert days(parse("12/15")) == [date(2026, 12, 15)]
    assert days(parse("nov 3rd")) == [date(2027, 11, 3)]  # this year's has passed


@pytest.mark.parametrize("text", ["asap", "soonest", "first available", "next available appt", "ASAP pls"])
def test_asking_for_the_soonest_sets_the_flag_and_looks_ahead_from_now(text: str) -> None:
    preference = parse(text)
    assert preference.soonest
    assert preference.matches(TUESDAY_MORNING + timedelta(minutes=5))
    assert preference.matches(at(date(2026, 12, 20), 9))


def test_not_mondays_excludes_every_monday_and_keeps_the_rest() -> None:
    preference = parse("not mondays")
    assert not preference.matches(at(date(2026, 12, 7), 9))
    assert not preference.matches(at(date(2026, 12, 14), 9))
    assert preference.matches(at(date(2026, 12, 8), 9))


def test_an_exception_after_any_day_is_an_exclusion() -> None:
    preference = parse("any day but friday, mornings are better")
    assert not preference.matches(at(date(2026, 12, 4), 9))
    assert preference.matches(at(date(2026, 12, 3), 9))
    assert not preference.matches(at(date(2026, 12, 3), 14))


def test_times_without_a_day_apply_to_every_coming_day() -> None:
    before_noon = parse("before noon")
    assert before_noon.matches(at(date(2026, 12, 1), 11))
    assert not before_noon.matches(at(date(2026, 12, 1), 12))
    after_work = parse("after work")
    assert after_work.matches(at(date(2026, 12, 9), 17, 30))
    assert not after_work.matches(at(date(2026, 12, 9), 16, 30))
    evening = parse("sometime in the evening")
    assert evening.matches(at(date(2026, 12, 10), 18))
    around = parse("around 10")
    assert around.targets == (time(10),)
    assert parse("between 2 and 4").matches(at(date(2026, 12, 2), 15))
    assert parse("9:30").matches(at(date(2026, 12, 2), 9, 40))


def test_a_weekday_said_on_that_day_means_next_weeks_unless_a_later_time_today_fits() -> None:
    assert days(parse("tuesday")) == [date(2026, 12, 8)]
    assert days(parse("tuesday at 4")) == [date(2026, 12, 1)]
    assert days(parse("tuesday at 9")) == [date(2026, 12, 8)]  # 9 am has passed today


def test_this_morning_said_in_the_afternoon_rolls_to_tomorrow_morning() -> None:
    afternoon = datetime(2026, 12, 1, 15, 0, tzinfo=TZ)
    assert days(parse("this morning", afternoon)) == [date(2026, 12, 2)]


def test_sunday_night_tomorrow_morning_is_monday_morning() -> None:
    sunday_night = datetime(2026, 12, 6, 22, 30, tzinfo=TZ)
    preference = parse("tomorrow morning", sunday_night)
    assert days(preference) == [date(2026, 12, 7)]
    earliest, latest = preference.span()
    assert earliest == at(date(2026, 12, 7), 6)
    assert latest == at(date(2026, 12, 7), 12)


def test_sunday_night_in_utc_is_still_sunday_in_portland() -> None:
    # 06:30 UTC Monday is 22:30 Sunday in Portland: "tomorrow" is Monday, not Tuesday
    now = datetime(2026, 12, 7, 6, 30, tzinfo=UTC)
    assert days(parse("tomorrow morning", now)) == [date(2026, 12, 7)]


def test_spans_cross_the_spring_forward_change_on_wall_clock_times() -> None:
    # DST starts Sunday Mar 8 2026 in the US: Monday 9 am is 16:00 UTC, the Friday before 17:00 UTC
    friday = datetime(2026, 3, 6, 12, 0, tzinfo=TZ)
    preference = parse("monday at 9", friday)
    earliest, _ = preference.span()
    assert earliest.astimezone(UTC) == datetime(2026, 3, 9, 15, 30, tzinfo=UTC)
    assert preference.matches(datetime(2026, 3, 9, 16, 0, tzinfo=UTC))
    assert not preference.matches(datetime(2026, 3, 9, 17, 0, tzinfo=UTC))


def test_next_week_mornings_keep_their_hours_across_the_fall_back_change() -> None:
    # DST ends Sunday Nov 1 2026: 8 am is 15:00 UTC before it and 16:00 UTC after
    preference = parse("mornings next week", datetime(2026, 10, 28, 12, 0, tzinfo=TZ))
    assert preference.matches(datetime(2026, 11, 2, 16, 0, tzinfo=UTC))  # Mon 8:00 PST
    assert not preference.matches(datetime(2026, 11, 2, 20, 30, tzinfo=UTC))  # Mon 12:30 PST


def test_slot_query_spans_the_preference() -> None:
    query = parse("next tuesday afternoon").slot_query(
        practitioner_id="dr-chen", appointment_type="follow-up"
    )
    assert (query.earliest, query.latest) == (at(date(2026, 12, 8), 12), at(date(2026, 12, 8), 17))
    assert (query.practitioner_id, query.appointment_type) == ("dr-chen", "follow-up")


def test_holidays_are_understood_with_the_practice_calendar(practice: PracticeConfig) -> None:
    preference = parse_time_preference("christmas eve morning", TUESDAY_MORNING, TZ, config=practice)
    assert preference is not None
    assert days(preference) == [date(2026, 12, 24)]


@pytest.mark.parametrize(
    "text", ["", "hello", "i need a refill", "yes", "thanks!", "i may be free", "what is the address"]
)
def test_no_time_at_all_is_none(text: str) -> None:
    assert parse_time_preference(text, TUESDAY_MORNING, TZ) is None


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        parse_time_preference("tomorrow", datetime(2026, 12, 1, 10), TZ)


_PHRASES = [
    "tomorrow",
    "next tuesday afternoon",
    "tmrw after 3",
    "monday or tuesday",
    "the 15th",
    "dec 3 at 9:30",
    "before noon",
    "around 10",
    "this weekend",
    "this morning",
    "tuesday",
    "later this week",
    "asap",
    "not mondays",
    "between 2 and 4",
    "end of the month",
    "in 3 days",
    "friday at 4",
    "tonight",
]
_NOW = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(TZ))


@settings(max_examples=200, deadline=None)
@given(text=st.sampled_from(_PHRASES), now=_NOW)
def test_every_window_starts_at_or_after_now_and_ends_after_it(text: str, now: datetime) -> None:
    preference = parse_time_preference(text, now, TZ)
    assert preference is not None
    assert preference.windows
    for window in preference.windows:
        start, end = window.start(TZ), window.end(TZ)
        assert start is not None
        assert end is not None
        assert end > now
        assert start >= now or window.first_day == now.astimezone(TZ).date()
    earliest, latest = preference.span()
    assert now <= earliest <= latest


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=60), now=_NOW)
def test_parse_never_raises_on_arbitrary_text(text: str, now: datetime) -> None:
    preference = parse_time_preference(text, now, TZ)
    if preference is not None:
        earliest, _ = preference.span()
        assert earliest >= now


_WORDS = st.sampled_from(
    [
        "next",
        "tuesday",
        "at",
        "3",
        "9:30",
        "or",
        "and",
        "not",
        "between",
        "the",
        "15th",
        "pm",
        "morning",
        "dec",
        "before",
        "after",
        "noon",
        "-",
        ",",
        "week",
        "in",
        "2",
        "weeks",
        "quarter",
        "past",
        "12/31",
    ]
)


@settings(max_examples=300, deadline=None)
@given(words=st.lists(_WORDS, max_size=8), now=_NOW)
def test_any_mix_of_time_words_gives_windows_that_are_not_past(words: list[str], now: datetime) -> None:
    preference = parse_time_preference(" ".join(words), now, TZ)
    if preference is None:
        return
    for window in preference.windows:
        assert isinstance(window, TimeWindow)
        end = window.end(TZ)
        assert end is not None
        assert end > now
