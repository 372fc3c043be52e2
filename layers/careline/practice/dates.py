"""The day a patient asks about, resolved on the practice's local calendar.

A question names a day in many ways: a weekday ("saturday"), a month and day ("dec 24"), a day of
the month ("the 24th"), a US holiday ("thanksgiving") or one of the practice's own closures
("Christmas Eve", "Day after Thanksgiving"). Each resolves to the next such local date on or after
the practice's today. Dates, never instants: adding days to a date cannot be thrown off by DST.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Final

import holidays

from careline.config import PracticeConfig

# How many years ahead to look for a date (Feb 29 may be four years away).
_YEARS_AHEAD: Final = 8

# Other ways patients name the US holidays (keys as the `holidays` package spells them). Each
# holiday's own name ("Labor Day", "Christmas Day") is matched as well.
_HOLIDAY_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "New Year's Day": ("new years", "new year"),
    "Martin Luther King Jr. Day": ("martin luther king day", "martin luther king", "mlk day", "mlk"),
    "Washington's Birthday": ("presidents day", "washingtons birthday"),
    "Juneteenth National Independence Day": ("juneteenth",),
    "Independence Day": ("fourth of july", "july fourth", "july 4th", "4th of july"),
    "Columbus Day": ("indigenous peoples day",),
    "Veterans Day": ("veterans day",),
    "Thanksgiving Day": ("thanksgiving",),
    "Christmas Day": ("christmas", "xmas"),
}

# Days people name by a holiday that are not holidays themselves: (name, holiday, days after it).
_DAYS_AROUND_HOLIDAYS: Final[dict[str, tuple[str, str, int]]] = {
    "christmas eve": ("Christmas Eve", "Christmas Day", -1),
    "day after christmas": ("Day after Christmas", "Christmas Day", 1),
    "new years eve": ("New Year's Eve", "New Year's Day", -1),
    "day after thanksgiving": ("Day after Thanksgiving", "Thanksgiving Day", 1),
    "black friday": ("Day after Thanksgiving", "Thanksgiving Day", 1),
}

# A closure note made only of these words names no particular day ("closed" is the default note).
_GENERIC_NOTE_WORDS: Final = frozenset({"closed", "closure", "open", "office", "holiday", "day", "the"})


@dataclass(frozen=True)
class NamedDay:
    """A local date a message names, with the holiday or closure name it was named by (if any)."""

    day: date
    name: str | None = None


def words(text: str) -> list[str]:
    """Lower-case words, apostrophes dropped: "New Year's Eve" -> ["new", "years", "eve"]."""
    lowered = text.lower().replace("'", "").replace("\u2019", "")
    return re.sub(r"[^a-z0-9]+", " ", lowered).split()


def next_weekday(today: date, weekday: int) -> date:
    """The next `weekday` (0 = Monday) on or after `today`."""
    return today + timedelta(days=(weekday - today.weekday()) % 7)


def next_month_day(today: date, month: int, day: int) -> date | None:
    """The next `month`/`day` on or after `today` (Feb 29 in the next leap year); None if no such date."""
    for year in range(today.year, today.year + _YEARS_AHEAD + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    return None


def next_day_of_month(today: date, day: int) -> date | None:
    """The next date on or after `today` falling on day `day` of a month ("the 31st" skips short months)."""
    year, month = today.year, today.month
    for _ in range(13):
        try:
            candidate = date(year, month, day)
        except ValueError:
            candidate = None
        if candidate is not None and candidate >= today:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


@lru_cache(maxsize=16)
def _us_holidays(year: int) -> dict[date, str]:
    # observed=False: "christmas" is Dec 25 even when the office closes on the Friday before
    return {
        day: str(name) for day, name in holidays.country_holidays("US", years=year, observed=False).items()
    }


def us_holiday_name(day: date) -> str | None:
    """The US holiday falling on `day` ("Veterans Day"), whether or not the practice closes for it."""
    return _us_holidays(day.year).get(day)


def _similar(word: str, wanted: str) -> bool:
    # long words survive a typo ("chrismas", "thanksgivng"); short ones must match exactly
    if word == wanted:
        return True
    return len(wanted) >= 5 and SequenceMatcher(None, word, wanted).ratio() >= 0.8


def _mentions(text_words: Sequence[str], phrase: Sequence[str]) -> bool:
    n = len(phrase)
    return any(
        all(_similar(w, p) for w, p in zip(text_words[i : i + n], phrase, strict=True))
        for i in range(len(text_words) - n + 1)
    )


def _candidates(today: date, config: PracticeConfig) -> Iterator[tuple[tuple[str, ...], NamedDay]]:
    """Every (phrase, day) a message could name, from this year's and next year's calendars."""
    for closure in config.closures:
        note = tuple(words(closure.note))
        if note and not set(note) <= _GENERIC_NOTE_WORDS:
            yield note, NamedDay(closure.date, closure.note)
    for year in (today.year, today.year + 1):
        by_name = {name: day for day, name in _us_holidays(year).items()}
        for name, day in by_name.items():
            for alias in (name, *_HOLIDAY_ALIASES.get(name, ())):
                yield tuple(words(alias)), NamedDay(day, name)
        for around, (label, holiday, offset) in _DAYS_AROUND_HOLIDAYS.items():
            if holiday in by_name:
                yield tuple(words(around)), NamedDay(by_name[holiday] + timedelta(days=offset), label)


def find_named_day(text: str, today: date, config: PracticeConfig) -> NamedDay | None:
    """The holiday or practice closure `text` names, on its next date on or after `today`.

    The longest name wins, so "christmas eve" is not Christmas and "day after thanksgiving" is not
    Thanksgiving; between dates with the same name, the soonest.
    """
    text_words = words(text)
    best: tuple[int, date] | None = None
    found: NamedDay | None = None
    for phrase, named in _candidates(today, config):
        if named.day < today or not _mentions(text_words, phrase):
            continue
        rank = (-len(phrase), named.day)
        if best is None or rank < best:
            best, found = rank, named
    return found
