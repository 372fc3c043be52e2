"""When a patient wants to come in, read from what they wrote or said.

"next tuesday afternoon", "tmrw after 3", "dec 3 at 9:30", "any time next week but not mondays",
"asap", voice "next tuesday at nine thirty": each becomes a `TimePreference`, a set of local
windows (a range of dates, optionally a time of day and a set of weekdays) in the practice's
timezone, plus exclusions and a "soonest" flag.

Everything is computed on local dates and wall-clock times and turned into instants only at the
end, so a preference stays right across a daylight-saving change. Nothing is ever in the past: a
weekday means the next one, and a day already over rolls to its next occurrence.

Conventions, chosen for a practice's patients:
  - a bare hour from 1 to 6 is afternoon ("after 3" is 3 pm), 7 to 11 is morning, unless the
    patient speaks of the evening ("tonight at 7");
  - "next tuesday" is the Tuesday of next week (weeks start on Monday); "tuesday" and
    "this tuesday" are the next Tuesday, and said on a Tuesday they mean today only when the
    patient names a time still ahead today;
  - "at 9:30" accepts slots from 9:00 to 10:00 and prefers the closest; "around 10" an hour each
    way;
  - a preference with no day ("mornings", "asap") looks `HORIZON_DAYS` ahead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

from careline.config import PracticeConfig
from careline.ehr.model import SlotQuery
from careline.practice.dates import find_named_day, next_day_of_month, next_month_day, next_weekday
from careline.scheduling.text import MONTHS, WEEKDAYS, normalize, ordinal_value

# How far ahead a preference without a day looks ("mornings", "asap", "not mondays").
HORIZON_DAYS: Final = 28
# How far an exclusion without a day reaches ("not mondays" holds for any Monday offered).
_EXCLUSION_DAYS: Final = 366


@dataclass(frozen=True)
class TimeOfDay:
    """A wall-clock range [start, end) of a day; `end` None runs to midnight.

    `target` is the time the patient named ("at 9:30", "around 10"): slots nearer to it are
    better.
    """

    start: time
    end: time | None = None
    target: time | None = None

    def contains(self, at: time) -> bool:
        """True when the wall-clock time `at` falls in the range."""
        return self.start <= at and (self.end is None or at < self.end)

    def intersect(self, other: TimeOfDay) -> TimeOfDay | None:
        """The part both ranges share ("afternoon" and "at 3"), or None when they share nothing."""
        start = max(self.start, other.start)
        ends = [end for end in (self.end, other.end) if end is not None]
        end = min(ends) if ends else None
        if end is not None and end <= start:
            return None
        return TimeOfDay(start, end, other.target or self.target)


MORNING: Final = TimeOfDay(time(6), time(12))  # from 6: a 7:30 visit is a morning visit
AFTERNOON: Final = TimeOfDay(time(12), time(17))
EVENING: Final = TimeOfDay(time(17), time(20))
_EARLY_MORNING: Final = TimeOfDay(time(6), time(10))
_LATE_MORNING: Final = TimeOfDay(time(10), time(12))
_EARLY_AFTERNOON: Final = TimeOfDay(time(12), time(15))
_LATE_AFTERNOON: Final = TimeOfDay(time(15), time(17))
_LUNCH: Final = TimeOfDay(time(11, 30), time(13, 30))
_AFTER_WORK: Final = TimeOfDay(time(17))
_AFTER_SCHOOL: Final = TimeOfDay(time(15))
_BEFORE_WORK: Final = TimeOfDay(time(0), time(9))
_LATE_DAY: Final = TimeOfDay(time(15))
_PM: Final = TimeOfDay(time(12))


@dataclass(frozen=True)
class TimeWindow:
    """Local dates `first_day`..`last_day` (inclusive), optionally only `weekdays` (0 = Monday) and
    only a time of day (`times`; None = any time)."""

    first_day: date
    last_day: date
    times: TimeOfDay | None = None
    weekdays: frozenset[int] | None = None

    def days(self) -> Iterator[date]:
        """The local dates the window covers, in order."""
        day = self.first_day
        while day <= self.last_day:
            if self.weekdays is None or day.weekday() in self.weekdays:
                yield day
            day += timedelta(days=1)

    def contains(self, local: datetime) -> bool:
        """True when the wall-clock `local` (already in the practice timezone) is inside."""
        day = local.date()
        if not self.first_day <= day <= self.last_day:
            return False
        if self.weekdays is not None and day.weekday() not in self.weekdays:
            return False
        return self.times is None or self.times.contains(local.time())

    def start(self, tz: ZoneInfo) -> datetime | None:
        """The first instant of the window, or None when no day of it is allowed."""
        first = next(self.days(), None)
        if first is None:
            return None
        return _instant(first, self.times.start if self.times else time(0), tz)

    def end(self, tz: ZoneInfo) -> datetime | None:
        """The instant the window ends (exclusive), or None when no day of it is allowed."""
        last = None
        for last in self.days():  # noqa: B007 - the last allowed day is wanted
            pass
        if last is None:
            return None
        if self.times is None or self.times.end is None:
            return _instant(last + timedelta(days=1), time(0), tz)
        return _instant(last, self.times.end, tz)


def _instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    # a wall time skipped by a spring-forward change is normalised to the real instant
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC).astimezone(tz)


@dataclass(frozen=True)
class TimePreference:
    """When a patient wants to come in. A datetime suits them when it is not before `now`, falls in
    one of `windows` and in none of `exclusions`. `soonest`: they want the first one available."""

    now: datetime
    tz: ZoneInfo
    windows: tuple[TimeWindow, ...]
    exclusions: tuple[TimeWindow, ...] = ()
    soonest: bool = False

    def matches(self, at: datetime) -> bool:
        """True when the aware instant `at` suits the patient."""
        if at.tzinfo is None:
            raise ValueError("naive datetime: Careline works with timezone-aware instants only")
        if at < self.now:
            return False
        local = at.astimezone(self.tz)
        if any(w.contains(local) for w in self.exclusions):
            return False
        return any(w.contains(local) for w in self.windows)

    def span(self) -> tuple[datetime, datetime]:
        """[earliest, latest): the instants to ask the EHR for free slots between."""
        starts = [s for s in (w.start(self.tz) for w in self.windows) if s is not None]
        ends = [e for e in (w.end(self.tz) for w in self.windows) if e is not None]
        now_local = self.now.astimezone(self.tz)
        earliest = max(min(starts), now_local) if starts else now_local
        latest = max(ends) if ends else earliest
        return earliest, max(latest, earliest)

    def slot_query(
        self, *, practitioner_id: str | None = None, appointment_type: str | None = None, limit: int = 50
    ) -> SlotQuery:
        """The EHR query for free slots in this preference's span."""
        earliest, latest = self.span()
        return SlotQuery(earliest, latest, practitioner_id, appointment_type, limit)

    @property
    def targets(self) -> tuple[time, ...]:
        """The times of day the patient named ("at 9:30"): offers closest to them come first."""
        return tuple(dict.fromkeys(w.times.target for w in self.windows if w.times and w.times.target))


# --- what the scanner finds -----------------------------------------------------------------

_Step = Literal["day", "week", "month", "year"]


@dataclass(frozen=True)
class _Days:
    """Local dates a phrase names. `step`: how it rolls forward once past. `named`: a named day
    (weekday, date) said on that very day means the next one unless a time later today is given.
    `week_start`: set for a plain "this week"/"next week", which can hold the weekdays named with it."""

    first: date
    last: date
    step: _Step | None = None
    named: bool = False
    week_start: date | None = None

    def rolled(self) -> _Days | None:
        if self.step == "day":
            return replace(self, first=self.first + timedelta(days=1), last=self.last + timedelta(days=1))
        if self.step == "week":
            return replace(self, first=self.first + timedelta(days=7), last=self.last + timedelta(days=7))
        if self.step == "month":
            day = next_day_of_month(self.first + timedelta(days=1), self.first.day)
        elif self.step == "year":
            day = next_month_day(self.first + timedelta(days=1), self.first.month, self.first.day)
        else:
            return None
        return None if day is None else replace(self, first=day, last=day)


@dataclass(frozen=True)
class _WeekdayRef:
    weekday: int
    modifier: Literal["plain", "next", "after_next"] = "plain"


@dataclass(frozen=True)
class _Weekdays:
    """Every such weekday: "mondays", "weekdays", "any friday"."""

    weekdays: frozenset[int]


@dataclass(frozen=True)
class _Sep:
    ends_negation: bool


class _Neg:
    pass


class _Soonest:
    pass


class _Open:
    pass


_Item = _Days | _WeekdayRef | _Weekdays | TimeOfDay | _Sep | _Neg | _Soonest | _Open


@dataclass(frozen=True)
class _Clock:
    hour: int
    minute: int
    meridiem: str | None
    explicit: bool  # written as a time: "9:30", "3pm", "4 oclock", "noon"
    around: bool = False


_SOONEST: Final = (
    ("as", "soon", "as", "possible"),
    ("as", "soon", "as", "you", "can"),
    ("as", "early", "as", "possible"),
    ("soon", "as", "possible"),
    ("first", "available"),
    ("next", "available"),
    ("earliest", "available"),
    ("first", "opening"),
    ("next", "opening"),
    ("first", "open"),
    ("next", "open"),
    ("sooner", "the", "better"),
    ("right", "away"),
    ("asap",),
    ("soonest",),
    ("earliest",),
    ("soon",),
)
_OPEN: Final = (
    ("do", "not", "care"),
    ("does", "not", "matter"),
    ("no", "preference"),
    ("whatever", "works"),
    ("any", "time"),
    ("any", "day"),
    ("whenever",),
    ("flexible",),
)
_DAYPARTS: Final[tuple[tuple[tuple[str, ...], TimeOfDay], ...]] = (
    (("first", "thing", "in", "the", "morning"), _EARLY_MORNING),
    (("early", "in", "the", "morning"), _EARLY_MORNING),
    (("late", "in", "the", "morning"), _LATE_MORNING),
    (("early", "in", "the", "afternoon"), _EARLY_AFTERNOON),
    (("late", "in", "the", "afternoon"), _LATE_AFTERNOON),
    (("end", "of", "the", "day"), _LATE_DAY),
    (("later", "in", "the", "day"), _LATE_DAY),
    (("late", "in", "the", "day"), _LATE_DAY),
    (("early", "in", "the", "day"), _EARLY_MORNING),
    (("earlier", "in", "the", "day"), MORNING),
    (("end", "of", "day"), _LATE_DAY),
    (("first", "thing"), _EARLY_MORNING),
    (("early", "morning"), _EARLY_MORNING),
    (("late", "morning"), _LATE_MORNING),
    (("early", "afternoon"), _EARLY_AFTERNOON),
    (("late", "afternoon"), _LATE_AFTERNOON),
    (("early", "evening"), EVENING),
    (("after", "work"), _AFTER_WORK),
    (("after", "school"), _AFTER_SCHOOL),
    (("before", "work"), _BEFORE_WORK),
    (("before", "school"), _BEFORE_WORK),
    (("lunch", "time"), _LUNCH),
    (("lunch", "hour"), _LUNCH),
    (("lunchtime",), _LUNCH),
    (("lunch",), _LUNCH),
    (("morning",), MORNING),
    (("mornings",), MORNING),
    (("afternoon",), AFTERNOON),
    (("afternoons",), AFTERNOON),
    (("evening",), EVENING),
    (("evenings",), EVENING),
    (("night",), EVENING),
    (("nights",), EVENING),
)
_AFTER: Final = (
    ("no", "earlier", "than"),
    ("not", "earlier", "than"),
    ("not", "before"),
    ("later", "than"),
    ("any", "time", "after"),
    ("starting", "at"),
    ("after",),
    ("past",),
    ("from",),
    ("starting",),
)
_BEFORE: Final = (
    ("no", "later", "than"),
    ("not", "later", "than"),
    ("not", "after"),
    ("earlier", "than"),
    ("up", "to"),
    ("before",),
    ("by",),
    ("until",),
)
_AROUND: Final = (("around",), ("about",), ("roughly",), ("approximately",), ("near",), ("close", "to"))
_AT: Final = (("at",), ("@",))
_RANGE_JOIN: Final = frozenset({"to", "-", "until", "through", "and"})
_NEGATIONS: Final = (
    ("anything", "but"),
    ("other", "than"),
    ("except", "for"),
    ("not", "available"),
    ("can", "not"),
    ("i", "work"),
    ("not",),
    ("no",),
    ("except",),
    ("excluding",),
    ("cannot",),
    ("unable",),
    ("never",),
    ("avoid",),
    ("busy",),
    ("unavailable",),
    ("working",),
    ("without",),
)
_ALTERNATIVES: Final = frozenset({"or", "and", "/", "&", "also", "otherwise", "-"})
_SCOPE_ENDS: Final = frozenset(
    {",", ";", ".", "!", "?", "but", "so", "only", "instead", "prefer", "works", "good", "fine"}
    | {"better", "though", "however", "rather"}
)
_EVENING_WORDS: Final = frozenset({"tonight", "evening", "evenings", "night", "nights", "pm"})
_DAY_UNITS: Final = {"day": 1, "days": 1, "week": 7, "weeks": 7}
_FEW: Final = {"a": 1, "an": 1, "couple": 2, "few": 3}


def _at(tokens: Sequence[str], i: int, phrase: Sequence[str]) -> bool:
    return tuple(tokens[i : i + len(phrase)]) == tuple(phrase)


def _first_phrase(tokens: Sequence[str], i: int, phrases: Sequence[Sequence[str]]) -> int:
    """The length of the first of `phrases` found at `i`, 0 if none."""
    for phrase in phrases:
        if _at(tokens, i, phrase):
            return len(phrase)
    return 0


def _hour_time(clock: _Clock, evening: bool) -> time | None:
    hour = clock.hour
    if clock.meridiem is not None:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if clock.meridiem == "pm" else 0)
    elif 1 <= hour <= 11 and (hour <= 6 or evening):
        hour += 12
    if not (0 <= hour <= 23 and 0 <= clock.minute <= 59):
        return None
    return time(hour, clock.minute)


class _Scanner:
    """Reads a normalized piece list left to right into items (days, times, separators, ...)."""

    def __init__(self, tokens: list[str], today: date) -> None:
        self.tokens = tokens
        self.today = today
        self.items: list[_Item] = []
        self.evening = self._evening_context()

    def _evening_context(self) -> list[bool]:
        # "tonight at 7" is 7 pm; "morning at 9 or evening at 7" keeps each part's own sense
        flags: list[bool] = []
        start = 0
        for end in [
            *(i for i, t in enumerate(self.tokens) if t in {"or", ",", ";", "but"}),
            len(self.tokens),
        ]:
            part = self.tokens[start : end + 1]
            flags.extend([bool(_EVENING_WORDS & set(part))] * (min(end + 1, len(self.tokens)) - start))
            start = end + 1
        return flags

    def tok(self, i: int) -> str:
        return self.tokens[i] if 0 <= i < len(self.tokens) else ""

    def scan(self) -> list[_Item]:
        i = 0
        while i < len(self.tokens):
            i = self._step(i)
        return self.items

    def _step(self, i: int) -> int:
        for reader in (
            self._soonest,
            self._open,
            self._time_phrase,
            self._negation,
            self._separator,
            self._day_phrase,
            self._bare_clock,
        ):
            after = reader(i)
            if after is not None:
                return after
        return i + 1

    # -- simple markers --

    def _soonest(self, i: int) -> int | None:
        n = _first_phrase(self.tokens, i, _SOONEST)
        if not n:
            return None
        self.items.append(_Soonest())
        return i + n

    def _open(self, i: int) -> int | None:
        n = _first_phrase(self.tokens, i, _OPEN)
        if not n:
            return None
        self.items.append(_Open())
        if self.tok(i + n) in ("but", "except") and self.tok(i + n + 1) != "not":
            # "any day but friday": what follows is the exception
            self.items.append(_Neg())
            return i + n + 1
        return i + n

    def _negation(self, i: int) -> int | None:
        n = _first_phrase(self.tokens, i, _NEGATIONS)
        if not n:
            return None
        self.items.append(_Neg())
        return i + n

    def _separator(self, i: int) -> int | None:
        piece = self.tok(i)
        if piece in _SCOPE_ENDS:
            self.items.append(_Sep(ends_negation=True))
        elif piece in _ALTERNATIVES:
            self.items.append(_Sep(ends_negation=False))
        else:
            return None
        return i + 1

    # -- times --

    def _clock(self, i: int) -> tuple[_Clock, int] | None:
        piece, after = self.tok(i), self.tok(i + 1)
        if piece in ("noon", "midday"):
            return _Clock(12, 0, "pm", True), i + 1
        if piece in ("quarter", "half") and after in ("past", "after", "to", "before"):
            hour = self.tok(i + 2)
            if not hour.isdigit() or not 1 <= int(hour) <= 12:
                return None
            minutes = 15 if piece == "quarter" else 30
            if after in ("to", "before"):
                clock = _Clock((int(hour) - 2) % 12 + 1, 60 - minutes, None, True)
            else:
                clock = _Clock(int(hour), minutes, None, True)
            return self._meridiem(clock, i + 3)
        if re.fullmatch(r"\d{1,2}:\d{2}", piece):
            hour_text, minute_text = piece.split(":")
            return self._meridiem(_Clock(int(hour_text), int(minute_text), None, True), i + 1)
        if not piece.isdigit():
            return None
        if len(piece) <= 2:
            minute = 0
            j = i + 1
            # voice "nine thirty" / "nine oh five": the minutes come as their own two digits
            if len(after) == 2 and after.isdigit() and int(after) < 60 and self.tok(i + 2) not in _DAY_UNITS:
                minute, j = int(after), i + 2
            elif after == "oh" and self.tok(i + 2).isdigit() and len(self.tok(i + 2)) == 1:
                minute, j = int(self.tok(i + 2)), i + 3
            return self._meridiem(_Clock(int(piece), minute, None, minute != 0), j)
        if len(piece) in (3, 4):
            clock, j = self._meridiem(_Clock(int(piece[:-2]), int(piece[-2:]), None, False), i + 1)
            return (clock, j) if clock.meridiem is not None else None
        return None

    def _meridiem(self, clock: _Clock, j: int) -> tuple[_Clock, int]:
        word = self.tok(j)
        if word in ("am", "pm"):
            clock, j = replace(clock, meridiem=word, explicit=True), j + 1
        elif word == "oclock":
            clock, j = replace(clock, explicit=True), j + 1
        if _at(self.tokens, j, ("in", "the", "morning")):
            clock, j = replace(clock, meridiem=clock.meridiem or "am", explicit=True), j + 3
        elif _at(self.tokens, j, ("in", "the", "afternoon")) or _at(self.tokens, j, ("in", "the", "evening")):
            clock, j = replace(clock, meridiem=clock.meridiem or "pm", explicit=True), j + 3
        elif _at(self.tokens, j, ("at", "night")):
            clock, j = replace(clock, meridiem=clock.meridiem or "pm", explicit=True), j + 2
        if self.tok(j) == "ish":
            clock, j = replace(clock, around=True, explicit=True), j + 1
        return clock, j

    def _time_of(self, clock: _Clock, i: int) -> time | None:
        return _hour_time(clock, self.evening[min(i, len(self.evening) - 1)] if self.evening else False)

    def _point(self, clock: _Clock, i: int, around: bool) -> TimeOfDay | None:
        at = self._time_of(clock, i)
        if at is None:
            return None
        spread = timedelta(hours=1) if around or clock.around else timedelta(minutes=30)
        anchor = datetime.combine(date(2000, 1, 2), at)
        start = max(anchor - spread, datetime.combine(anchor.date(), time(0)))
        end = anchor + spread
        return TimeOfDay(start.time(), end.time() if end.date() == anchor.date() else None, at)

    def _range(self, i: int) -> int | None:
        """ "between 2 and 4", "from 10 to 2", "2-4", "9 until 11"."""
        j = i + 1 if self.tok(i) in ("between", "from") else i
        first = self._clock(j)
        if first is None:
            return None
        a, k = first
        if self.tok(k) not in _RANGE_JOIN or (self.tok(k) == "and" and j == i):
            return None
        second = self._clock(k + 1)
        if second is None:
            return None
        b, end_index = second
        end = self._time_of(b, k + 1)
        if end is None:
            return None
        if a.meridiem is None and b.meridiem is not None:
            start = self._time_of(replace(a, meridiem=b.meridiem), j)
            if start is None or start >= end:
                start = self._time_of(replace(a, meridiem="am"), j)
        else:
            start = self._time_of(a, j)
        if start is None:
            return None
        if end <= start and b.meridiem is None and end.hour < 12:
            end = time(end.hour + 12, end.minute)
        if end <= start:
            return None
        self.items.append(TimeOfDay(start, end))
        return end_index

    def _time_phrase(self, i: int) -> int | None:
        if self.tok(i) == "this" and (length := _first_phrase(self.tokens, i + 1, [p for p, _ in _DAYPARTS])):
            # "this afternoon" is today's afternoon
            self.items.append(_Days(self.today, self.today, "day"))
            return self._time_phrase(i + 1) or i + 1 + length
        if self.tok(i) == "tonight":
            self.items.extend([_Days(self.today, self.today, "day"), EVENING])
            return i + 1
        for phrase, part in _DAYPARTS:
            if _at(self.tokens, i, phrase):
                self.items.append(part)
                return i + len(phrase)
        if self.tok(i) == "pm" or (
            self.tok(i) == "am" and self.tok(i - 1) in {*WEEKDAYS, "tomorrow", "today"}
        ):
            self.items.append(_PM if self.tok(i) == "pm" else MORNING)
            return i + 1
        ranged = self._range(i)
        if ranged is not None:
            return ranged
        for phrases, kind in ((_AFTER, "after"), (_BEFORE, "before"), (_AROUND, "around"), (_AT, "at")):
            n = _first_phrase(self.tokens, i, phrases)
            if not n:
                continue
            found = self._clock(i + n)
            if found is None:
                continue
            clock, j = found
            if kind in ("after", "before"):
                at = self._time_of(clock, i + n)
                if at is None:
                    return None
                self.items.append(TimeOfDay(at) if kind == "after" else TimeOfDay(time(0), at))
                if _at(self.tokens, j, ("on",)) or self.tok(j) in ("onward", "onwards"):
                    j += 1
                return j if at != time(0) or kind == "after" else None
            point = self._point(clock, i + n, around=kind == "around")
            if point is None:
                return None
            self.items.append(point)
            return j
        return None

    def _bare_clock(self, i: int) -> int | None:
        """ "9:30", "3pm", "10ish" on their own; a bare hour only right after a day ("tuesday 3")."""
        found = self._clock(i)
        if found is None:
            return None
        clock, j = found
        after_day = bool(self.items) and isinstance(self.items[-1], _Days | _WeekdayRef)
        if not clock.explicit and not (after_day and 1 <= clock.hour <= 12 and self.tok(j) not in _DAY_UNITS):
            return None
        point = self._point(clock, i, around=False)
        if point is None:
            return None
        self.items.append(point)
        if self.tok(j) in ("or", "-") and (other := self._clock(j + 1)) is not None:
            # "9 or 10": each is a time the patient can do
            self.items.append(_Sep(ends_negation=False))
            second = self._point(other[0], j + 1, around=False)
            if second is not None:
                self.items.append(second)
                return other[1]
        return j

    # -- days --

    def _day_phrase(self, i: int) -> int | None:
        for reader in (
            self._relative_day,
            self._week_part,
            self._month_part,
            self._in_some_time,
            self._weekday,
            self._month_day,
            self._day_of_month,
        ):
            after = reader(i)
            if after is not None:
                return after
        return None

    def _relative_day(self, i: int) -> int | None:
        today = self.today
        for phrase, offset in (
            (("the", "day", "after", "tomorrow"), 2),
            (("day", "after", "tomorrow"), 2),
            (("today",), 0),
            (("todays",), 0),
            (("tomorrow",), 1),
            (("tomorrows",), 1),
        ):
            if _at(self.tokens, i, phrase):
                day = today + timedelta(days=offset)
                self.items.append(_Days(day, day, "day"))
                return i + len(phrase)
        return None

    def _week_start(self, i: int) -> tuple[date, int] | None:
        """The Monday of the week named at `i`: "this week", "next week", "the week after next"."""
        monday = self.today - timedelta(days=self.today.weekday())
        j = i + 1 if self.tok(i) == "the" else i
        if _at(self.tokens, j, ("week", "after", "next")):
            return monday + timedelta(days=14), j + 3
        for phrase, weeks in (
            (("this", "week"), 0),
            (("this", "coming", "week"), 1),
            (("next", "week"), 1),
            (("following", "week"), 1),
            (("coming", "week"), 0),
            (("week",), 0),
        ):
            if _at(self.tokens, j, phrase):
                return monday + timedelta(days=7 * weeks), j + len(phrase)
        return None

    def _week_part(self, i: int) -> int | None:
        """ "this week", "early next week", "later this week", "end of the week", "mid week", weekends."""
        part = self.tok(i)
        span: tuple[int, int] | None = {
            "early": (0, 2),
            "beginning": (0, 2),
            "start": (0, 2),
            "mid": (1, 3),
            "middle": (1, 3),
            "late": (3, 6),
            "later": (3, 6),
            "end": (3, 6),
        }.get(part)
        j = i
        if span is not None:
            j += 1
            while self.tok(j) in ("of", "in", "the"):
                j += 1
        for weekend, plural in ((("weekend",), False), (("weekends",), True)):
            start = j + 1 if self.tok(j) in ("this", "next", "the") else j
            if _at(self.tokens, start, weekend):
                if plural:
                    self.items.append(_Weekdays(frozenset({5, 6})))
                    return start + 1
                monday = self.today - timedelta(days=self.today.weekday())
                if self.tok(j) == "next" and self.today.weekday() < 5:
                    monday += timedelta(days=7)
                saturday = monday + timedelta(days=5)
                self.items.append(_Days(saturday, saturday + timedelta(days=1), "week"))
                return start + 1
        if self.tok(j) in ("weekday", "weekdays"):
            self.items.append(_Weekdays(frozenset(range(5))))
            return j + 1
        found = self._week_start(j)
        if found is None or (span is None and self.tok(j) == "week"):
            return None
        monday, end = found
        if span is None:
            self.items.append(_Days(monday, monday + timedelta(days=6), "week", week_start=monday))
        else:
            self.items.append(
                _Days(monday + timedelta(days=span[0]), monday + timedelta(days=span[1]), "week")
            )
        return end

    def _month_part(self, i: int) -> int | None:
        """ "next month", "later this month", "early next month", "in january", "end of march"."""
        part = self.tok(i)
        j = i
        if part in ("early", "beginning", "start", "mid", "middle", "late", "later", "end", "in", "during"):
            j += 1
            while self.tok(j) in ("of", "the"):
                j += 1
        word = self.tok(j)
        today = self.today
        if (word in ("this", "next") and self.tok(j + 1) == "month") or (word == "month" and j > i):
            year, month = today.year, today.month
            if word == "next":
                year, month = (year + 1, 1) if month == 12 else (year, month + 1)
            end = j + 2 if word != "month" else j + 1
        elif word in MONTHS and j > i and self.tok(j + 1) not in ("the",) and not self._is_day_number(j + 1):
            month = MONTHS[word]
            year = today.year if month >= today.month else today.year + 1
            end = j + 1
        else:
            return None
        first = date(year, month, 1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        if part in ("early", "beginning", "start"):
            last = first + timedelta(days=9)
        elif part in ("mid", "middle"):
            first, last = first + timedelta(days=9), first + timedelta(days=19)
        elif part in ("late", "end"):
            first = last - timedelta(days=9)
        elif part == "later":
            first = max(first, today + timedelta(days=1))
        self.items.append(_Days(max(first, today), last, "year" if first.day == 1 else None))
        return end

    def _is_day_number(self, j: int) -> bool:
        piece = self.tok(j)
        return (piece.isdigit() and 1 <= int(piece) <= 31) or ordinal_value(piece) is not None

    def _in_some_time(self, i: int) -> int | None:
        """ "in 2 weeks", "in a few days", "3 days from now", "a week from today", "next couple weeks"."""
        today = self.today
        j = i + 1 if self.tok(i) in ("in", "within") else i
        if self.tok(j) in ("next", "following") and self.tok(j + 1) in ("couple", "few") and j == i:
            j += 1
            within = True
        else:
            within = self.tok(i) == "within"
        if self.tok(j) in ("a", "an") and self.tok(j + 1) in ("few", "couple"):
            j += 1
        count_word = self.tok(j)
        if count_word.isdigit() and len(count_word) <= 2:
            count: int = int(count_word)
        elif count_word in _FEW:
            count = _FEW[count_word]
        else:
            return None
        k = j + 1
        if self.tok(k) == "of":
            k += 1
        unit = self.tok(k)
        if unit in ("month", "months"):
            months = count
            year, month = divmod(today.month - 1 + months, 12)
            target = next_day_of_month(date(today.year + year, month + 1, 1), min(today.day, 28))
            if target is None:
                return None
            step: _Step | None = None
            first, last = target - timedelta(days=3), target + timedelta(days=3)
        elif unit in _DAY_UNITS:
            days = count * _DAY_UNITS[unit]
            target = today + timedelta(days=days)
            if _DAY_UNITS[unit] == 1 and count_word != "few":
                first = last = target
            elif count_word == "few":
                first, last = (
                    today + timedelta(days=days - _DAY_UNITS[unit]),
                    target + timedelta(days=_DAY_UNITS[unit]),
                )
            else:
                first = target - timedelta(days=target.weekday())
                last = first + timedelta(days=6)
            step = None
        else:
            return None
        # "in 2 weeks" needs "in" (or "from now" after): "2 weeks" alone may be a duration
        end = k + 1
        if _at(self.tokens, end, ("from", "now")) or _at(self.tokens, end, ("from", "today")):
            end += 2
        elif j == i and not within and self.tok(i - 1) != "in":
            return None
        if within:
            first = today
        self.items.append(_Days(max(first, today), max(last, today), step))
        return end

    def _weekday(self, i: int) -> int | None:
        j = i
        modifier: Literal["plain", "next", "after_next"] = "plain"
        every = False
        if self.tok(j) in ("this", "coming", "upcoming", "on"):
            j += 1
            if self.tok(j) in ("coming", "upcoming"):
                j += 1
        elif self.tok(j) in ("next", "following"):
            modifier, j = "next", j + 1
        elif self.tok(j) in ("any", "every", "all"):
            every, j = True, j + 1
        if self.tok(j) == "the" and modifier == "plain":
            j += 1
        word = self.tok(j)
        if word in WEEKDAYS:
            weekday = WEEKDAYS[word]
        elif word.endswith("s") and word[:-1] in WEEKDAYS:
            weekday, every = WEEKDAYS[word[:-1]], True
        else:
            return None
        j += 1
        if every:
            self.items.append(_Weekdays(frozenset({weekday})))
            return j
        if _at(self.tokens, j, ("after", "next")):
            modifier, j = "after_next", j + 2
        self.items.append(_WeekdayRef(weekday, modifier))
        return j

    def _month_day(self, i: int) -> int | None:
        """ "dec 3", "december 3rd", "december the third", "3rd of december", "12/3", "12/3/26"."""
        if self.tok(i) in ("on", "the"):
            i += 1 if self.tok(i + 1) != "the" else 2
        piece = self.tok(i)
        if "/" in piece:
            parts = [int(p) for p in piece.split("/")]
            return self._add_date(parts[0], parts[1], parts[2] if len(parts) > 2 else None, i + 1)
        if piece in MONTHS:
            j = i + 1
            if self.tok(j) == "the":
                j += 1
            day = self._day_number(j)
            if day is None:
                return None
            return self._add_date(MONTHS[piece], day, self._year(j + 1), j + 1)
        day = self._day_number(i)
        j = i + 1
        if day is not None and self.tok(j) == "of":
            j += 1
        if day is not None and self.tok(j) in MONTHS and (j > i + 1 or ordinal_value(piece) is not None):
            return self._add_date(MONTHS[self.tok(j)], day, self._year(j + 1), j + 1)
        return None

    def _day_number(self, j: int) -> int | None:
        piece = self.tok(j)
        value = ordinal_value(piece)
        if (
            value is None
            and piece.isdigit()
            and len(piece) <= 2
            and self.tok(j + 1) not in ("am", "pm", "oclock")
        ):
            value = int(piece)
        return value if value is not None and 1 <= value <= 31 else None

    def _year(self, j: int) -> int | None:
        piece = self.tok(j)
        return int(piece) if piece.isdigit() and len(piece) == 4 else None

    def _add_date(self, month: int, day: int, year: int | None, end: int) -> int | None:
        if year is not None and year < 100:
            year += 2000
        if year is not None and year >= self.today.year:
            try:
                exact = date(year, month, day)
            except ValueError:
                return None
            if exact >= self.today:
                self.items.append(_Days(exact, exact, "year", named=True))
                return end + (1 if self._year(end) else 0)
        found = next_month_day(self.today, month, day) if 1 <= month <= 12 else None
        if found is None:
            return None
        self.items.append(_Days(found, found, "year", named=True))
        return end + (1 if self._year(end) else 0)

    def _day_of_month(self, i: int) -> int | None:
        """ "the 15th", "on the 3rd", "the fifteenth" (an ordinal, or a number after "the")."""
        j = i + 1 if self.tok(i) == "on" else i
        has_the = self.tok(j) == "the"
        if has_the:
            j += 1
        piece = self.tok(j)
        value = ordinal_value(piece)
        if value is None and has_the and piece.isdigit() and self.tok(j + 1) in ("", "at", ",", "or", "and"):
            value = int(piece)
        if value is None or not 1 <= value <= 31 or (piece == "first" and not has_the):
            return None
        if piece == "first" and self.tok(j + 1) not in ("", "at", ",", "or", "and", "of", "in", "morning"):
            return None
        found = next_day_of_month(self.today, value)
        if found is None:
            return None
        self.items.append(_Days(found, found, "month", named=True))
        return j + 1


# --- from items to windows -----------------------------------------------------------------


@dataclass
class _Segment:
    negated: bool
    days: list[_Days | _WeekdayRef] = field(default_factory=list)
    weekdays: list[frozenset[int]] = field(default_factory=list)
    times: list[TimeOfDay] = field(default_factory=list)

    def has_days(self) -> bool:
        return bool(self.days or self.weekdays)

    def empty(self) -> bool:
        return not (self.has_days() or self.times)


def _segments(items: Sequence[_Item]) -> list[_Segment]:
    segments: list[_Segment] = []
    current = _Segment(negated=False)
    negating = False
    for item in items:
        if isinstance(item, _Sep | _Neg):
            if isinstance(item, _Sep) and item.ends_negation:
                negating = False
            if isinstance(item, _Neg):
                negating = True
            if not current.empty():
                segments.append(current)
            current = _Segment(negated=negating)
        elif isinstance(item, _Days | _WeekdayRef):
            current.days.append(item)
        elif isinstance(item, _Weekdays):
            current.weekdays.append(item.weekdays)
        elif isinstance(item, TimeOfDay):
            current.times.append(item)
    if not current.empty():
        segments.append(current)
    return segments


def _joint_times(times: Sequence[TimeOfDay]) -> TimeOfDay | None:
    if not times:
        return None
    joint = times[0]
    for other in times[1:]:
        # contradictions ("morning at 3") keep the more specific, later-said time
        joint = joint.intersect(other) or other
    return joint


def _joint_weekdays(sets: Sequence[frozenset[int]]) -> frozenset[int] | None:
    if not sets:
        return None
    joint = sets[0]
    for other in sets[1:]:
        joint &= other
    return joint


def _borrow(positives: list[_Segment]) -> None:
    """Share what a part leaves unsaid: "monday or tuesday afternoon" is afternoon both days;
    "tomorrow morning or afternoon" is tomorrow both times."""
    for index, segment in enumerate(positives):
        if segment.has_days() and not segment.times and index + 1 < len(positives):
            following = positives[index + 1]
            if following.times:
                segment.times = list(following.times)
    for index, segment in enumerate(positives):
        if segment.times and not segment.has_days():
            donors = [*reversed(positives[:index]), *positives[index + 1 :]]
            donor = next((d for d in donors if d.days), None)
            if donor is not None:
                segment.days = list(donor.days)
                segment.weekdays = list(segment.weekdays or donor.weekdays)


def _resolve_weekday(ref: _WeekdayRef, today: date, week: date | None) -> _Days:
    if week is not None:
        day = week + timedelta(days=ref.weekday)
        return _Days(day, day, "week")
    if ref.modifier == "plain":
        day = next_weekday(today, ref.weekday)
        return _Days(day, day, "week", named=True)
    next_monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
    day = next_monday + timedelta(days=ref.weekday + (7 if ref.modifier == "after_next" else 0))
    return _Days(day, day, "week")


def _clip(window: TimeWindow, now_local: datetime) -> list[TimeWindow]:
    """The part of `window` not yet past: today's part starts at the current wall-clock time."""
    today = now_local.date()
    if window.last_day < today:
        return []
    if window.first_day > today:
        return [window] if next(window.days(), None) else []
    out: list[TimeWindow] = []
    if window.weekdays is None or today.weekday() in window.weekdays:
        times = window.times or TimeOfDay(time(0))
        clock = now_local.time()
        if times.end is None or times.end > clock:
            out.append(TimeWindow(today, today, TimeOfDay(max(times.start, clock), times.end, times.target)))
    if window.last_day > today:
        rest = replace(window, first_day=today + timedelta(days=1))
        if next(rest.days(), None):
            out.append(rest)
    return out


def _settle(
    days: _Days, times: TimeOfDay | None, weekdays: frozenset[int] | None, now_local: datetime
) -> list[TimeWindow]:
    """Windows for one named span, rolled forward while it is past (at most a few times)."""
    today = now_local.date()
    current: _Days | None = days
    for _ in range(4):
        if current is None:
            return []
        said_today_without_time = current.named and current.first == current.last == today and times is None
        if not said_today_without_time:
            windows = _clip(TimeWindow(current.first, current.last, times, weekdays), now_local)
            if windows:
                return windows
        current = current.rolled()
    return []


def parse_time_preference(
    text: str, now: datetime, tz: ZoneInfo, *, config: PracticeConfig | None = None
) -> TimePreference | None:
    """When `text` says the patient wants to come in, or None when it states no time at all.

    `now` is the aware current instant; dates are the practice's local dates in `tz`. With
    `config`, holidays and the practice's closure notes ("christmas eve") are understood too.
    """
    if now.tzinfo is None:
        raise ValueError("naive datetime: Careline works with timezone-aware instants only")
    now_local = now.astimezone(tz)
    today = now_local.date()
    items = _Scanner(normalize(text), today).scan()
    if config is not None and (named := find_named_day(text, today, config)) is not None:
        items.extend([_Sep(ends_negation=True), _Days(named.day, named.day, "year", named=True)])
    soonest = any(isinstance(item, _Soonest) for item in items)
    stated = soonest or any(isinstance(item, _Open) for item in items)
    segments = _segments(items)
    if not segments and not stated:
        return None

    positives = [s for s in segments if not s.negated]
    # "monday or tuesday next week": the weekdays named with a plain week fall in that week
    weeks = [d for s in positives for d in s.days if isinstance(d, _Days) and d.week_start is not None]
    refs = [d for s in positives for d in s.days if isinstance(d, _WeekdayRef) and d.modifier == "plain"]
    week = weeks[0].week_start if len(weeks) == 1 and refs else None
    if week is not None:
        for segment in positives:
            segment.days = [d for d in segment.days if not (isinstance(d, _Days) and d.week_start)]
    _borrow(positives)

    horizon = _Days(today, today + timedelta(days=HORIZON_DAYS - 1))
    windows: list[TimeWindow] = []
    for segment in positives:
        times = _joint_times(segment.times)
        weekdays = _joint_weekdays(segment.weekdays)
        spans = [
            _resolve_weekday(d, today, week) if isinstance(d, _WeekdayRef) else d for d in segment.days
        ] or [horizon]
        for span in spans:
            windows.extend(_settle(span, times, weekdays, now_local))
    if not windows:
        windows = _clip(TimeWindow(horizon.first, horizon.last), now_local)

    exclusions = _exclusions([s for s in segments if s.negated], today)
    return TimePreference(now, tz, tuple(_dedupe(windows)), tuple(_dedupe(exclusions)), soonest)


def _exclusions(negated: Sequence[_Segment], today: date) -> list[TimeWindow]:
    """What the patient cannot do; a part without days ("no mornings") holds on any day."""
    exclusions: list[TimeWindow] = []
    far = today + timedelta(days=_EXCLUSION_DAYS)
    for segment in negated:
        times = _joint_times(segment.times)
        weekdays = set(_joint_weekdays(segment.weekdays) or ())
        spans: list[_Days] = []
        for d in segment.days:
            if isinstance(d, _WeekdayRef) and d.modifier == "plain":
                weekdays.add(d.weekday)  # "not monday" means no Monday at all
            else:
                spans.append(_resolve_weekday(d, today, None) if isinstance(d, _WeekdayRef) else d)
        if not spans:
            spans = [_Days(today, far)]
        exclusions.extend(
            TimeWindow(s.first, s.last, times, frozenset(weekdays) if weekdays else None) for s in spans
        )
    return exclusions


def _dedupe(windows: Sequence[TimeWindow]) -> list[TimeWindow]:
    seen: list[TimeWindow] = []
    for window in windows:
        if window not in seen:
            seen.append(window)
    return seen
