"""Dates of birth as patients type or say them.

Patients answer "what is your date of birth?" in every form there is: "3/14/84", "03-14-1984",
"1984-03-14", "March 14 1984", "14th of march, 1984", "march fourteenth nineteen eighty four", DTMF
digits ("03141984"), often inside a sentence ("my dob is 3/14/84 thanks"). Month and day are read
in US order. A two-digit year is the most recent year that does not put the birth in the future.
Impossible dates (Feb 30), future dates and dates more than 120 years ago are refused, so a typo
never becomes a wrong identity check against the EHR.

Pure functions, no I/O. The text is PHI: nothing here logs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

MAX_AGE_YEARS = 120

_MONTHS: dict[str, int] = {
    "january": 1, "jan": 1, "janurary": 1, "januray": 1,
    "february": 2, "feb": 2, "febuary": 2, "feburary": 2, "febr": 2,
    "march": 3, "mar": 3,
    "april": 4, "apr": 4, "aprl": 4,
    "may": 5,
    "june": 6, "jun": 6,
    "july": 7, "jul": 7,
    "august": 8, "aug": 8, "agust": 8, "augest": 8,
    "september": 9, "sep": 9, "sept": 9, "septmber": 9, "setember": 9,
    "october": 10, "oct": 10, "octobor": 10,
    "november": 11, "nov": 11, "novmber": 11,
    "december": 12, "dec": 12, "decmber": 12,
}  # fmt: skip

_ZERO = {"zero": 0, "oh": 0, "o": 0}
_UNITS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}
_TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "ninteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_ORDINAL_UNITS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5,
    "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9,
}  # fmt: skip
_ORDINAL_TEENS = {
    "tenth": 10, "eleventh": 11, "twelfth": 12, "twelth": 12, "thirteenth": 13, "fourteenth": 14,
    "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19,
    "ninteenth": 19,
}  # fmt: skip
_ORDINAL_TENS = {"twentieth": 20, "thirtieth": 30}
# Words that may sit between a date's parts: "the 14th of March", "March 14 in 1984".
_FILLERS = frozenset({"the", "of", "in", "year"})

# Separated numerals: month/day/year (US order) or year-month-day; the separator repeats.
_MDY = re.compile(r"(?<![\d/.\-])(\d{1,2})\s*([/.\-])\s*(\d{1,2})\s*\2\s*(\d{4}|\d{2})(?!\d)")
_YMD = re.compile(r"(?<![\d/.\-])(\d{4})([/.\-])(\d{1,2})\2(\d{1,2})(?!\d)")
# Spoken digits transcribed with spaces ("03 14 84").
_SPACED = re.compile(r"(?<![\d/.\-])(\d{1,2})\s+(\d{1,2})\s+(\d{4}|\d{2})(?![\d/.\-]?\d)")
# DTMF entry: MMDDYY or MMDDYYYY (or YYYYMMDD), nothing else attached.
_DIGIT_RUN = re.compile(r"(?<!\d)(\d{8}|\d{6})(?!\d)")
_KEYPAD_ONLY = re.compile(r"[\d\s#*]+")
_TOKEN = re.compile(r"[a-z]+|\d+(?:st|nd|rd|th)?|['\u2018\u2019]\d{2}(?!\d)")
_DAY_NUMERAL = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?")


@dataclass(frozen=True)
class DateOfBirthMatch:
    """A date of birth found in a text, and where: `span` indexes the text as given."""

    birth_date: date
    span: tuple[int, int]


def parse_date_of_birth(text: str, today: date) -> date | None:
    """The date of birth in `text`, or None when there is none that could be real.

    `today` is the patient's calendar day (a `datetime` is reduced to its date). Two-digit years
    resolve to the most recent year that keeps the date on or before `today`.
    """
    found = find_date_of_birth(text, today)
    return found.birth_date if found else None


def find_date_of_birth(text: str, today: date) -> DateOfBirthMatch | None:
    """Like `parse_date_of_birth`, also telling where in `text` the date was written, so a caller
    can read the rest of the message (a name typed in the same message, say)."""
    if isinstance(today, datetime):
        today = today.date()
    lowered = _lower_keep_length(text)
    best: DateOfBirthMatch | None = None
    for found in _candidates(lowered, today):
        if best is None or found.span[0] < best.span[0]:
            best = found
    if best is None and _KEYPAD_ONLY.fullmatch(lowered.strip() or "x"):
        digits = re.sub(r"\D", "", lowered)
        birth = _from_digit_run(digits, today)
        if birth is not None:
            best = DateOfBirthMatch(birth, (0, len(text)))
    return best


# -- numerals ----------------------------------------------------------------------------------


def _candidates(lowered: str, today: date) -> Iterator[DateOfBirthMatch]:
    """The first valid date of each form (by position), so the earliest in the text wins."""
    for match in _YMD.finditer(lowered):
        birth = _valid(int(match[1]), int(match[3]), int(match[4]), today)
        if birth:
            yield DateOfBirthMatch(birth, match.span())
            break
    for pattern in (_MDY, _SPACED):
        for match in pattern.finditer(lowered):
            groups = match.groups()
            month, day, year = groups[0], groups[-2], groups[-1]
            birth = _from_parts(int(month), int(day), year, today)
            if birth:
                yield DateOfBirthMatch(birth, match.span())
                break
    for match in _DIGIT_RUN.finditer(lowered):
        birth = _from_digit_run(match[1], today)
        if birth:
            yield DateOfBirthMatch(birth, match.span())
            break
    worded = _from_words(lowered, today)
    if worded:
        yield worded


def _from_digit_run(digits: str, today: date) -> date | None:
    if len(digits) == 6:
        return _from_parts(int(digits[:2]), int(digits[2:4]), digits[4:], today)
    if len(digits) == 8:
        return _from_parts(int(digits[:2]), int(digits[2:4]), digits[4:], today) or _valid(
            int(digits[:4]), int(digits[4:6]), int(digits[6:]), today
        )
    return None


def _from_parts(month: int, day: int, year: str, today: date) -> date | None:
    if len(year) == 2:
        return _two_digit_year(int(year), month, day, today)
    return _valid(int(year), month, day, today)


# -- words -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    text: str
    start: int
    end: int


def _from_words(lowered: str, today: date) -> DateOfBirthMatch | None:
    # Hyphens join spoken numbers ("eighty-four"); as spaces they leave the text's length alone.
    tokens = [_Token(m[0], m.start(), m.end()) for m in _TOKEN.finditer(lowered.replace("-", " "))]
    words = [t.text for t in tokens]
    for i, word in enumerate(words):
        month = _MONTHS.get(word)
        if month is None:
            continue
        readings = [
            r for r in (_day_first(words, i, month, today), _month_first(words, i, month, today)) if r
        ]
        if readings:
            # "twenty first of march twenty oh five": the reading that explains more words wins
            (first, last), birth = max(readings, key=lambda r: r[0][1] - r[0][0])
            return DateOfBirthMatch(birth, (tokens[first].start, tokens[last - 1].end))
    return None


_Found = tuple[tuple[int, int], date]


def _month_first(words: list[str], i: int, month: int, today: date) -> _Found | None:
    """'March 14 1984', 'march the fourteenth, nineteen eighty four'."""
    for day, after_day in _days(words, _skip_fillers(words, i + 1)):
        birth_end = _year_date(words, _skip_fillers(words, after_day), month, day, today)
        if birth_end:
            birth, end = birth_end
            return (i, end), birth
    return None


def _day_first(words: list[str], i: int, month: int, today: date) -> _Found | None:
    """'14 March 1984', 'the fourteenth of march nineteen eighty four'."""
    day_end = i
    while day_end > 0 and words[day_end - 1] in _FILLERS:
        day_end -= 1
    # earliest start first: "twenty first of march" is the 21st, not the 1st
    for start in range(max(day_end - 2, 0), day_end):
        for day, after_day in _days(words, start):
            if after_day != day_end:
                continue
            birth_end = _year_date(words, _skip_fillers(words, i + 1), month, day, today)
            if birth_end:
                birth, end = birth_end
                return (start, end), birth
    return None


def _year_date(words: list[str], j: int, month: int, day: int, today: date) -> tuple[date, int] | None:
    for year, two_digit, end in _years(words, j):
        birth = _two_digit_year(year, month, day, today) if two_digit else _valid(year, month, day, today)
        if birth:
            return birth, end
    return None


def _skip_fillers(words: list[str], j: int) -> int:
    while j < len(words) and words[j] in _FILLERS:
        j += 1
    return j


def _days(words: list[str], j: int) -> list[tuple[int, int]]:
    """Readings of a day of the month starting at `words[j]`, longest first: (day, next index)."""
    if j >= len(words):
        return []
    word = words[j]
    numeral = _DAY_NUMERAL.fullmatch(word)
    if numeral:
        return [(int(numeral[1]), j + 1)]
    following = words[j + 1] if j + 1 < len(words) else ""
    if word in _TENS:
        unit = _UNITS.get(following) or _ORDINAL_UNITS.get(following)
        longer = [(_TENS[word] + unit, j + 2)] if unit else []
        return [*longer, (_TENS[word], j + 1)]
    for table in (_ORDINAL_TENS, _TEENS, _ORDINAL_TEENS, _UNITS, _ORDINAL_UNITS):
        if word in table:
            return [(table[word], j + 1)]
    return []


def _years(words: list[str], j: int) -> list[tuple[int, bool, int]]:
    """Readings of a year starting at `words[j]`, longest first: (year, is two-digit, next index)."""
    if j >= len(words):
        return []
    word = words[j]
    if word.isdigit() and len(word) == 4:
        return [(int(word), False, j + 1)]
    if word.isdigit() and len(word) == 2:
        return [(int(word), True, j + 1)]
    if word[0] in "'\u2018\u2019":
        return [(int(word[1:]), True, j + 1)]
    readings: list[tuple[int, bool, int]] = []
    # "two thousand (and) five"
    if word == "two" and j + 1 < len(words) and words[j + 1] == "thousand":
        k = j + 2
        k_after_and = k + 1 if k < len(words) and words[k] == "and" else k
        for low, _, end in _low_numbers(words, k_after_and, allow_units=True):
            readings.append((2000 + low, False, end))
        readings.append((2000, False, k))
        return readings
    for high, padded, after_high in _low_numbers(words, j, allow_units=False):
        if padded:
            # "oh five": a two-digit year on its own
            readings.append((high, True, after_high))
            continue
        if after_high < len(words) and words[after_high] == "hundred":
            k = after_high + 1
            k_after_and = k + 1 if k < len(words) and words[k] == "and" else k
            for low, _, end in _low_numbers(words, k_after_and, allow_units=True):
                readings.append((high * 100 + low, False, end))
            readings.append((high * 100, False, k))
            continue
        # "nineteen eighty four", "twenty twelve", "nineteen oh five"
        if high >= 10:
            for low, _, end in _low_numbers(words, after_high, allow_units=False):
                readings.append((high * 100 + low, False, end))
        readings.append((high, True, after_high))
    readings.sort(key=lambda r: -r[2])
    return readings


def _low_numbers(words: list[str], j: int, *, allow_units: bool) -> list[tuple[int, bool, int]]:
    """Numbers below 100 in words at `words[j]`, longest first: (value, zero-padded, next index).

    "oh five" is zero-padded; a bare unit ("five") only where a year can end in one ("two
    thousand five"), not as a year on its own.
    """
    if j >= len(words):
        return []
    word = words[j]
    following = words[j + 1] if j + 1 < len(words) else ""
    if word in _ZERO and following in _UNITS:
        return [(_UNITS[following], True, j + 2)]
    if word in _TENS:
        longer = [(_TENS[word] + _UNITS[following], False, j + 2)] if following in _UNITS else []
        return [*longer, (_TENS[word], False, j + 1)]
    if word in _TEENS:
        return [(_TEENS[word], False, j + 1)]
    if allow_units and word in _UNITS:
        return [(_UNITS[word], False, j + 1)]
    return []


# -- validity ----------------------------------------------------------------------------------


def _two_digit_year(year: int, month: int, day: int, today: date) -> date | None:
    # This century if that is not in the future, else the one before ("1/1/30" in 2026 is 1930).
    century = today.year // 100 * 100
    return _valid(century + year, month, day, today) or _valid(century - 100 + year, month, day, today)


def _real_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _valid(year: int, month: int, day: int, today: date) -> date | None:
    birth = _real_date(year, month, day)
    if birth is None or birth > today or birth < earliest_birth_date(today):
        return None
    return birth


def earliest_birth_date(today: date) -> date:
    """The oldest date of birth accepted on `today` (MAX_AGE_YEARS before it)."""
    year = today.year - MAX_AGE_YEARS
    # Feb 29 has no twin in most years; the day before is the conservative bound.
    return _real_date(year, today.month, today.day) or date(year, today.month, today.day - 1)


def _lower_keep_length(text: str) -> str:
    """Lowercase character by character, keeping any character whose lowercase form is longer, so
    indexes into the result are indexes into `text`."""
    return "".join(c if len(low := c.lower()) != 1 else low for c in text)
