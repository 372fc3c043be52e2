"""Business hours, holidays and closures, in the practice's timezone and across DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from careline.config import Closure, OpenInterval, PracticeConfig
from careline.conversation.model import Queue
from careline.practice.hours import (
    AlwaysOpen,
    PracticeCalendar,
    describe_day,
    describe_differences,
    describe_opening,
    format_time,
    holiday_closures,
    location_calendar,
    offices,
    open_offices,
    queue_schedule,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.fakes import PORTLAND, local

DATES = st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31))
INSTANTS = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)


def test_open_on_a_weekday_inside_hours(practice: PracticeConfig) -> None:
    calendar = PracticeCalendar(practice)
    assert calendar.is_open(local(2026, 12, 22, 8, 0))  # Tuesday, opening minute
    assert calendar.is_open(local(2026, 12, 22, 16, 59))
    assert not calendar.is_open(local(2026, 12, 22, 17, 0))  # closing time is closed
    assert not calendar.is_open(local(2026, 12, 22, 7, 59))


def test_closed_on_christmas_with_the_holiday_named(practice: PracticeConfig) -> None:
    calendar = PracticeCalendar(practice)
    christmas = calendar.hours_on(date(2026, 12, 25))
    assert christmas.is_closed
    assert christmas.reason == "Christmas Day"
    assert not calendar.is_open(local(2026, 12, 25, 10, 0))


def test_closed_on_the_weekday_a_weekend_holiday_is_observed(practice: PracticeConfig) -> None:
    # July 4 2026 is a Saturday: the federal holiday is observed on Friday July 3
    observed = PracticeCalendar(practice).hours_on(date(2026, 7, 3))
    assert observed.is_closed
    assert observed.reason == "Independence Day (observed)"


def test_federal_holidays_the_practice_works_on_are_ordinary_days(practice: PracticeConfig) -> None:
    # Columbus Day is not in the sample practice's closed_on list
    columbus = PracticeCalendar(practice).hours_on(date(2026, 10, 12))
    assert not columbus.is_closed
    assert columbus.reason is None
    assert date(2026, 10, 12) not in holiday_closures(practice.holidays, 2026)


def test_practice_closure_closes_the_whole_day_with_its_note(practice: PracticeConfig) -> None:
    day = PracticeCalendar(practice).hours_on(date(2026, 11, 27))
    assert day.is_closed
    assert day.reason == "Day after Thanksgiving"


def test_partial_day_closure_opens_only_its_hours(practice: PracticeConfig) -> None:
    calendar = PracticeCalendar(practice)
    assert calendar.is_open(local(2026, 12, 24, 11, 30))
    assert not calendar.is_open(local(2026, 12, 24, 12, 30))
    assert describe_day(calendar.hours_on(date(2026, 12, 24))) == "Thu Dec 24: 8am-12pm (Christmas Eve)"


def test_week_lists_seven_days_naming_holiday_closures(practice: PracticeConfig) -> None:
    lines = [describe_day(d) for d in PracticeCalendar(practice).week(local(2026, 12, 21, 9, 0))]
    assert lines == [
        "Mon Dec 21: 8am-5pm",
        "Tue Dec 22: 8am-5pm",
        "Wed Dec 23: 8am-5pm",
        "Thu Dec 24: 8am-12pm (Christmas Eve)",
        "Fri Dec 25: closed (Christmas Day)",
        "Sat Dec 26: closed",
        "Sun Dec 27: closed",
    ]


def test_weekend_next_opening_is_monday_morning(practice: PracticeConfig) -> None:
    calendar = PracticeCalendar(practice)
    saturday_noon = local(2027, 1, 9, 12, 0)
    opening = calendar.next_opening(saturday_noon)
    assert opening == local(2027, 1, 11, 8, 0)
    assert describe_opening(opening, saturday_noon, PORTLAND) == "Monday at 8am"


def test_after_hours_next_opening_is_tomorrow(practice: PracticeConfig) -> None:
    evening = local(2026, 12, 22, 18, 30)
    opening = PracticeCalendar(practice).next_opening(evening)
    assert opening is not None
    assert describe_opening(opening, evening, PORTLAND) == "tomorrow at 8am"


def test_next_opening_skips_a_holiday_weekend(practice: PracticeConfig) -> None:
    # Thanksgiving Thursday, the practice's own closure Friday, then the weekend
    opening = PracticeCalendar(practice).next_opening(local(2026, 11, 26, 9, 0))
    assert opening == local(2026, 11, 30, 8, 0)


def test_next_opening_across_spring_forward_keeps_wall_clock_time(practice: PracticeConfig) -> None:
    # DST starts Sunday 2026-03-08 at 2am: Friday is PST (UTC-8), Monday is PDT (UTC-7)
    friday_evening = local(2026, 3, 6, 18, 0)
    opening = PracticeCalendar(practice).next_opening(friday_evening)
    assert opening is not None
    assert opening.astimezone(UTC) == datetime(2026, 3, 9, 15, 0, tzinfo=UTC)
    assert opening.astimezone(PORTLAND).time() == time(8, 0)


def test_open_at_eight_local_on_the_monday_after_fall_back(practice: PracticeConfig) -> None:
    # DST ends Sunday 2026-11-01: 8am PST on Monday is 16:00 UTC, 15:59 UTC is still 7:59am
    calendar = PracticeCalendar(practice)
    assert calendar.is_open(datetime(2026, 11, 2, 16, 0, tzinfo=UTC))
    assert not calendar.is_open(datetime(2026, 11, 2, 15, 59, tzinfo=UTC))


def test_location_hours_override_the_practice_week(practice: PracticeConfig) -> None:
    st_johns = practice.location("st-johns")
    calendar = PracticeCalendar(practice, weekly=st_johns.hours)
    assert not calendar.is_open(local(2026, 12, 23, 10, 0))  # closed Wednesdays
    assert calendar.hours_on(date(2026, 12, 25)).reason == "Christmas Day"  # holidays still apply


def test_queue_staffing_follows_its_config(practice: PracticeConfig) -> None:
    assert isinstance(queue_schedule(practice, Queue.CRISIS), AlwaysOpen)
    front_desk = queue_schedule(practice, Queue.FRONT_DESK)
    assert not front_desk.is_open(local(2026, 12, 25, 10, 0))


def test_times_read_the_way_people_write_them() -> None:
    assert format_time(time(8, 0)) == "8am"
    assert format_time(time(17, 30)) == "5:30pm"
    assert format_time(time(12, 0)) == "12pm"
    assert format_time(time(0, 15)) == "12:15am"


@settings(max_examples=150)
@given(INSTANTS)
def test_is_open_means_inside_the_local_days_interval(practice: PracticeConfig, at: datetime) -> None:
    calendar = PracticeCalendar(practice)
    wall = at.astimezone(PORTLAND)
    interval = calendar.hours_on(wall.date()).interval
    inside = interval is not None and interval.opens <= wall.time() < interval.closes
    assert calendar.is_open(at) == inside


@settings(max_examples=80)
@given(INSTANTS)
def test_next_opening_is_the_first_open_instant_after_now(practice: PracticeConfig, at: datetime) -> None:
    calendar = PracticeCalendar(practice)
    opening = calendar.next_opening(at)
    assert opening is not None
    assert opening > at
    assert calendar.is_open(opening)
    assert not calendar.is_open(opening - timedelta(minutes=1))
    # never closed for more than a long holiday weekend plus a closure
    assert opening - at < timedelta(days=6)


# --- each office's own hours --------------------------------------------------------------------------


def test_st_johns_is_closed_on_wednesdays_while_hawthorne_keeps_the_practice_hours(
    practice: PracticeConfig,
) -> None:
    wednesday = date(2026, 12, 23)
    st_johns = location_calendar(practice, practice.location("st-johns"))
    hawthorne = location_calendar(practice, practice.location("hawthorne"))
    assert st_johns.hours_on(wednesday).is_closed
    assert not st_johns.is_open(local(2026, 12, 23, 10, 0))
    assert hawthorne.hours_on(wednesday).interval == OpenInterval(opens=time(8, 0), closes=time(17, 0))
    assert open_offices(practice, local(2026, 12, 23, 10, 0)) == [practice.location("hawthorne")]


def test_st_johns_opens_at_half_past_eight(practice: PracticeConfig) -> None:
    st_johns = location_calendar(practice, practice.location("st-johns"))
    assert not st_johns.is_open(local(2026, 12, 22, 8, 15))
    assert st_johns.is_open(local(2026, 12, 22, 8, 30))
    assert open_offices(practice, local(2026, 12, 22, 8, 15)) == [practice.location("hawthorne")]
    # Tuesday evening: the next St. Johns opening skips its closed Wednesday
    assert st_johns.next_opening(local(2026, 12, 22, 18, 0)) == local(2026, 12, 24, 8, 30)


def test_a_holiday_closes_every_office(practice: PracticeConfig) -> None:
    christmas = date(2026, 12, 25)
    for office in offices(practice):
        day = office.calendar.hours_on(christmas)
        assert day.is_closed, office.location.id
        assert day.reason == "Christmas Day"
    assert open_offices(practice, local(2026, 12, 25, 10, 0)) == []


def test_a_short_closure_day_keeps_each_offices_own_opening_time(practice: PracticeConfig) -> None:
    # the practice opens 8am-12pm on Christmas Eve; St. Johns, which opens at 8:30, opens 8:30-12
    st_johns = location_calendar(practice, practice.location("st-johns"))
    assert describe_day(st_johns.hours_on(date(2026, 12, 24))) == "Thu Dec 24: 8:30am-12pm (Christmas Eve)"


def test_a_short_closure_day_does_not_open_an_office_on_its_closed_weekday(practice: PracticeConfig) -> None:
    morning = OpenInterval(opens=time(8, 0), closes=time(12, 0))
    short_wednesday = Closure(date=date(2027, 3, 10), note="staff meeting", hours=morning)
    config = practice.model_copy(update={"closures": (*practice.closures, short_wednesday)})
    st_johns = location_calendar(config, config.location("st-johns"))
    hawthorne = location_calendar(config, config.location("hawthorne"))
    assert st_johns.hours_on(date(2027, 3, 10)).is_closed
    assert st_johns.hours_on(date(2027, 3, 10)).reason == "staff meeting"
    assert describe_day(hawthorne.hours_on(date(2027, 3, 10))) == "Wed Mar 10: 8am-12pm (staff meeting)"


def test_st_johns_opens_at_half_past_eight_local_across_spring_forward(practice: PracticeConfig) -> None:
    st_johns = location_calendar(practice, practice.location("st-johns"))
    opening = st_johns.next_opening(local(2026, 3, 6, 18, 0))  # Friday PST; Monday is PDT
    assert opening is not None
    assert opening.astimezone(UTC) == datetime(2026, 3, 9, 15, 30, tzinfo=UTC)


def test_the_days_an_office_differs_are_grouped_by_hours(practice: PracticeConfig) -> None:
    at = local(2026, 12, 1, 10, 0)
    hawthorne = location_calendar(practice, practice.location("hawthorne")).week(at)
    st_johns = location_calendar(practice, practice.location("st-johns")).week(at)
    assert describe_differences(hawthorne, st_johns) == "Mon, Tue, Thu 8:30am-5pm; Wed closed; Fri 8:30am-4pm"
    assert describe_differences(hawthorne, hawthorne) is None


@settings(max_examples=100)
@given(DATES)
def test_an_office_without_its_own_hours_keeps_the_practice_calendar(
    practice: PracticeConfig, day: date
) -> None:
    hawthorne = practice.location("hawthorne")
    assert hawthorne.hours is None
    assert location_calendar(practice, hawthorne).hours_on(day) == PracticeCalendar(practice).hours_on(day)


@settings(max_examples=100)
@given(DATES)
def test_holidays_and_closures_close_every_office_alike(practice: PracticeConfig, day: date) -> None:
    days = [office.calendar.hours_on(day) for office in offices(practice)]
    assert len({d.reason for d in days}) == 1
    if days[0].reason is not None and days[0].is_closed:
        assert all(d.is_closed for d in days)
