"""The day a patient names, resolved to its next local date: weekdays, dates, holidays, closures."""

from __future__ import annotations

from datetime import date

import pytest
from careline.config import PracticeConfig
from careline.practice.dates import (
    NamedDay,
    find_named_day,
    next_day_of_month,
    next_month_day,
    next_weekday,
    us_holiday_name,
)

TUESDAY_DEC_1 = date(2026, 12, 1)


def test_a_weekday_is_the_next_one_or_today() -> None:
    assert next_weekday(TUESDAY_DEC_1, 5) == date(2026, 12, 5)  # Saturday
    assert next_weekday(TUESDAY_DEC_1, 0) == date(2026, 12, 7)  # Monday
    assert next_weekday(TUESDAY_DEC_1, 1) == TUESDAY_DEC_1


def test_a_month_and_day_is_this_year_unless_it_has_passed() -> None:
    assert next_month_day(TUESDAY_DEC_1, 12, 24) == date(2026, 12, 24)
    assert next_month_day(TUESDAY_DEC_1, 12, 1) == TUESDAY_DEC_1
    assert next_month_day(TUESDAY_DEC_1, 11, 30) == date(2027, 11, 30)
    assert next_month_day(TUESDAY_DEC_1, 2, 29) == date(2028, 2, 29)
    assert next_month_day(TUESDAY_DEC_1, 2, 30) is None


def test_a_day_of_the_month_skips_months_too_short_for_it() -> None:
    assert next_day_of_month(TUESDAY_DEC_1, 24) == date(2026, 12, 24)
    assert next_day_of_month(date(2027, 1, 31), 30) == date(2027, 3, 30)  # no Feb 30


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("are you open christmas eve", NamedDay(date(2026, 12, 24), "Christmas Eve")),
        ("open on xmas?", NamedDay(date(2026, 12, 25), "Christmas Day")),
        ("r u open on chrismas", NamedDay(date(2026, 12, 25), "Christmas Day")),
        ("open new year's day?", NamedDay(date(2027, 1, 1), "New Year's Day")),
        ("what time do you close new years eve", NamedDay(date(2026, 12, 31), "New Year's Eve")),
        # Thanksgiving 2026 has passed: the next one is in 2027
        ("open on thanksgiving?", NamedDay(date(2027, 11, 25), "Thanksgiving Day")),
        ("are you open the day after thanksgiving", NamedDay(date(2027, 11, 26), "Day after Thanksgiving")),
        ("closed for mlk day?", NamedDay(date(2027, 1, 18), "Martin Luther King Jr. Day")),
        ("open on the fourth of july", NamedDay(date(2027, 7, 4), "Independence Day")),
        ("is the office open for staff training", NamedDay(date(2027, 2, 10), "staff training")),
    ],
)
def test_holidays_and_closure_notes_resolve_to_their_next_date(
    practice: PracticeConfig, text: str, expected: NamedDay
) -> None:
    assert find_named_day(text, TUESDAY_DEC_1, practice) == expected


def test_the_practices_own_closure_wins_while_it_is_ahead(practice: PracticeConfig) -> None:
    named = find_named_day("open the day after thanksgiving?", date(2026, 11, 2), practice)
    assert named == NamedDay(date(2026, 11, 27), "Day after Thanksgiving")


@pytest.mark.parametrize(
    "text", ["are you closed now", "what are your hours", "is the office open", "open today?"]
)
def test_no_day_is_named(practice: PracticeConfig, text: str) -> None:
    assert find_named_day(text, TUESDAY_DEC_1, practice) is None


def test_a_generic_closure_note_names_no_day(practice: PracticeConfig) -> None:
    # "closed" is the default note: "are you closed" must not resolve to that closure's date
    note = practice.closures[-1].model_copy(update={"note": "closed"})
    unnamed = practice.model_copy(update={"closures": (note,)})
    assert find_named_day("are you closed", TUESDAY_DEC_1, unnamed) is None


def test_us_holidays_are_named_even_when_the_practice_works() -> None:
    assert us_holiday_name(date(2026, 11, 11)) == "Veterans Day"
    assert us_holiday_name(date(2026, 11, 12)) is None
