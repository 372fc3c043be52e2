"""Dates of birth in the forms patients type and say them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from careline.identity.dob import earliest_birth_date, find_date_of_birth, parse_date_of_birth
from hypothesis import given
from hypothesis import strategies as st

TODAY = date(2026, 3, 2)
MARCH_14_1984 = date(1984, 3, 14)


@pytest.mark.parametrize(
    "text",
    [
        "3/14/84",
        "03/14/1984",
        "03-14-1984",
        "3.14.84",
        "1984-03-14",
        "1984/3/14",
        "March 14 1984",
        "mar 14, 1984",
        "March 14th, 1984",
        "14 March 1984",
        "14th of march 1984",
        "the fourteenth of March, nineteen eighty four",
        "march fourteenth nineteen eighty four",
        "March fourteenth, nineteen eighty-four",
        "MARCH 14 84",
        "Mar 14 '84",
        "031484",
        "03141984",
        "19840314",
        "0 3 1 4 8 4 #",
        "03 14 84",
        "my dob is 3/14/84 thanks",
        "born on march 14 1984 I think",
        "3 / 14 / 1984",
    ],
)
def test_reads_march_14_1984_in_every_common_form(text: str) -> None:
    assert parse_date_of_birth(text, TODAY) == MARCH_14_1984


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("June 3rd two thousand five", date(2005, 6, 3)),
        ("june third two thousand and five", date(2005, 6, 3)),
        ("jun 3 oh five", date(2005, 6, 3)),
        ("june three twenty oh five", date(2005, 6, 3)),
        ("dec 3 twenty twelve", date(2012, 12, 3)),
        ("December twenty first nineteen ninety", date(1990, 12, 21)),
        ("the twenty first of december nineteen ninety", date(1990, 12, 21)),
        ("march twenty two thousand five", date(2005, 3, 20)),
        ("July 4 nineteen oh nine", date(1909, 7, 4)),
        ("sept 9 1961", date(1961, 9, 9)),
        ("Febuary 28 1975", date(1975, 2, 28)),
        ("feb 29 2000", date(2000, 2, 29)),
    ],
)
def test_reads_spoken_and_misspelled_forms(text: str, expected: date) -> None:
    assert parse_date_of_birth(text, TODAY) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2/30/84",  # no such day
        "13/14/84",  # no 13th month: US order, not day/month
        "feb 29 2001",
        "3/14/2027",  # in the future
        "1/1/1900",  # more than 120 years ago
        "3/14",  # no year
        "March 1984",  # no day
        "may I reschedule",
        "my number is 503 555 0141",
        "",
        "I don't know",
    ],
)
def test_refuses_what_cannot_be_a_date_of_birth(text: str) -> None:
    assert parse_date_of_birth(text, TODAY) is None


def test_two_digit_year_is_the_most_recent_past_year() -> None:
    assert parse_date_of_birth("1/1/30", TODAY) == date(1930, 1, 1)
    assert parse_date_of_birth("1/1/26", TODAY) == date(2026, 1, 1)
    # later this year would be in the future, so a century earlier
    assert parse_date_of_birth("12/1/26", TODAY) == date(1926, 12, 1)
    assert parse_date_of_birth("2/29/00", TODAY) == date(2000, 2, 29)


def test_a_birth_today_is_accepted() -> None:
    assert parse_date_of_birth("3/2/2026", TODAY) == TODAY


def test_span_points_at_the_date_inside_the_sentence() -> None:
    text = "Rosalind Quenby 3/14/84 thx"
    found = find_date_of_birth(text, TODAY)
    assert found is not None
    assert text[found.span[0] : found.span[1]] == "3/14/84"


def test_span_covers_a_spoken_date() -> None:
    text = "Imogen Farrow, november thirtieth nineteen eighty"
    found = find_date_of_birth(text, TODAY)
    assert found is not None
    assert found.birth_date == date(1980, 11, 30)
    assert text[found.span[0] : found.span[1]] == "november thirtieth nineteen eighty"


# -- property tests: any real date in each supported form parses back to itself ---------------

_MONTH_NAMES = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip
_ONES = ["", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
          "nineteen"]  # fmt: skip
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ORDINALS = {1: "first", 2: "second", 3: "third", 5: "fifth", 8: "eighth", 9: "ninth", 12: "twelfth"}


def _under_100(n: int, sep: str = " ") -> str:
    if n < 10:
        return _ONES[n]
    if n < 20:
        return _TEENS[n - 10]
    return _TENS[n // 10] + (sep + _ONES[n % 10] if n % 10 else "")


def _ordinal(n: int) -> str:
    if n in _ORDINALS:
        return _ORDINALS[n]
    if n % 10 == 0 and n >= 20:
        return _TENS[n // 10][:-1] + "ieth"
    if n > 20 and n % 10:
        return _TENS[n // 10] + " " + _ordinal(n % 10)
    return _under_100(n) + "th"


def _spoken_year(year: int, hyphen: bool) -> str:
    sep = "-" if hyphen else " "
    high, low = divmod(year, 100)
    if year >= 2000 and (low < 10 or hyphen):
        # "two thousand five", "two thousand twelve"
        return "two thousand" + (" " + _under_100(low, sep) if low else "")
    if low == 0:
        return _under_100(high) + " hundred"
    if low < 10:
        return f"{_under_100(high)} oh {_ONES[low]}"
    return f"{_under_100(high)} {_under_100(low, sep)}"


def _forms(d: date) -> list[str]:
    month = _MONTH_NAMES[d.month - 1]
    return [
        f"{d.month:02d}/{d.day:02d}/{d.year}",
        f"{d.month}/{d.day}/{d.year}",
        f"{d.month:02d}-{d.day:02d}-{d.year}",
        f"{d.month}.{d.day}.{d.year}",
        d.isoformat(),
        f"{month} {d.day} {d.year}",
        f"{month[:3].lower()} {d.day}, {d.year}",
        f"{d.day} {month} {d.year}",
        f"{month.lower()} {_ordinal(d.day)} {_spoken_year(d.year, hyphen=False)}",
        f"{month} {_ordinal(d.day)}, {_spoken_year(d.year, hyphen=True)}",
        f"the {_ordinal(d.day)} of {month} {_spoken_year(d.year, hyphen=False)}",
        f"{d.month:02d}{d.day:02d}{d.year}",
        f"my dob is {d.month}/{d.day}/{d.year} thanks",
    ]


def _two_digit_forms(d: date) -> list[str]:
    month = _MONTH_NAMES[d.month - 1]
    yy = d.year % 100
    spoken_yy = f"oh {_ONES[yy]}" if 0 < yy < 10 else _under_100(yy)
    forms = [
        f"{d.month}/{d.day}/{yy:02d}",
        f"{d.month}.{d.day}.{yy:02d}",
        f"{d.month:02d}{d.day:02d}{yy:02d}",
        f"{month} {d.day} '{yy:02d}",
    ]
    if yy:
        forms.append(f"{month.lower()} {_ordinal(d.day)} {spoken_yy}")
    return forms


todays = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))


@st.composite
def birth_dates(draw: st.DrawFn, span_days: int) -> tuple[date, date]:
    today = draw(todays)
    return today - timedelta(days=draw(st.integers(0, span_days))), today


@given(birth_dates(span_days=119 * 365))
def test_every_full_year_form_parses_back(case: tuple[date, date]) -> None:
    birth, today = case
    for text in _forms(birth):
        assert parse_date_of_birth(text, today) == birth, text


@given(birth_dates(span_days=99 * 365))
def test_every_two_digit_year_form_parses_back_within_a_century(case: tuple[date, date]) -> None:
    birth, today = case
    for text in _two_digit_forms(birth):
        assert parse_date_of_birth(text, today) == birth, text


@given(st.text(max_size=60), todays)
def test_never_returns_a_future_or_too_old_date(text: str, today: date) -> None:
    found = parse_date_of_birth(text, today)
    assert found is None or earliest_birth_date(today) <= found <= today
