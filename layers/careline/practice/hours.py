"""When the practice, one of its offices, or one of its queues is open, in the practice's timezone.

Every question starts from an aware instant and is answered on the local calendar date, so the
answers stay right across daylight-saving changes: opening times are wall-clock times and are
turned into instants only at the end.

Each office keeps its own weekly hours when the config gives it some (`locations[].hours`), else
the practice's business hours; the practice's holidays and closures apply to every office. The
practice counts as open whenever any of its offices is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

import holidays

from careline.config import HolidayPolicy, Location, OpenInterval, PracticeConfig, WeeklyHours
from careline.conversation.model import Queue

# How far ahead to look for the next opening before giving up (a practice closed for a year).
_SEARCH_DAYS = 366


@dataclass(frozen=True)
class DayHours:
    """The hours of one local calendar day: `interval` is None when closed all day.

    `reason` says why a day differs from the weekly pattern: a holiday name or a closure note.
    """

    day: date
    interval: OpenInterval | None
    reason: str | None = None

    @property
    def is_closed(self) -> bool:
        return self.interval is None


@lru_cache(maxsize=64)
def _holiday_closures(closed_on: tuple[str, ...], observed: bool, year: int) -> dict[date, str]:
    closed = set(closed_on)
    out: dict[date, str] = {}
    for day, names in holidays.country_holidays("US", years=year, observed=observed).items():
        for name in str(names).split("; "):
            if name.removesuffix(" (observed)").strip() in closed:
                out[day] = name
                break
    return out


def holiday_closures(policy: HolidayPolicy, year: int) -> dict[date, str]:
    """The federal holidays of `year` the practice closes on, by date, with their names."""
    return _holiday_closures(tuple(policy.closed_on), policy.observed, year)


class Schedule(Protocol):
    def is_open(self, at: datetime) -> bool: ...

    def next_opening(self, at: datetime) -> datetime | None: ...


class PracticeCalendar:
    """Business hours with holidays and closures applied; optionally another weekly pattern.

    `weekly` overrides the practice's business hours (a location's or a queue's own schedule);
    holidays and closures apply either way.
    """

    def __init__(self, config: PracticeConfig, weekly: WeeklyHours | None = None) -> None:
        self._config = config
        self._weekly = weekly or config.business_hours
        self._closures = {c.date: c for c in config.closures}
        self.tz: ZoneInfo = config.tz

    def local(self, at: datetime) -> datetime:
        """`at` on the practice's wall clock. Refuses naive datetimes."""
        if at.tzinfo is None:
            raise ValueError("naive datetime: Careline works with timezone-aware instants only")
        return at.astimezone(self.tz)

    def hours_on(self, day: date) -> DayHours:
        """The hours of a local calendar day: a closure wins over a holiday, a holiday over the week.

        A closure with hours ("open 8-12 on Christmas Eve") shortens the day; it never opens an
        office earlier, later, or on a day its own week keeps it shut.
        """
        closure = self._closures.get(day)
        if closure is not None:
            weekly = self._weekly.for_weekday(day.weekday())
            return DayHours(day, _overlap(closure.hours, weekly), closure.note)
        holiday = holiday_closures(self._config.holidays, day.year).get(day)
        if holiday is not None:
            return DayHours(day, None, holiday)
        return DayHours(day, self._weekly.for_weekday(day.weekday()))

    def today(self, at: datetime) -> DayHours:
        """The hours of the local day containing `at`."""
        return self.hours_on(self.local(at).date())

    def week(self, at: datetime) -> list[DayHours]:
        """The hours of the seven local days starting with today."""
        start = self.local(at).date()
        return [self.hours_on(start + timedelta(days=i)) for i in range(7)]

    def is_open(self, at: datetime) -> bool:
        """True when `at` falls inside the local day's opening hours (closing time excluded)."""
        local = self.local(at)
        interval = self.hours_on(local.date()).interval
        return interval is not None and interval.opens <= local.time() < interval.closes

    def closes_at(self, at: datetime) -> datetime | None:
        """When the current opening ends, or None if closed at `at`."""
        if not self.is_open(at):
            return None
        local = self.local(at)
        interval = self.hours_on(local.date()).interval
        assert interval is not None
        return self._instant(local.date(), interval.closes)

    def next_opening(self, at: datetime) -> datetime | None:
        """The first opening strictly after `at` (None if closed for the next year)."""
        local = self.local(at)
        for offset in range(_SEARCH_DAYS):
            day = local.date() + timedelta(days=offset)
            interval = self.hours_on(day).interval
            if interval is None:
                continue
            opening = self._instant(day, interval.opens)
            if opening > at:
                return opening
        return None

    def opening_after(self, day: date) -> datetime | None:
        """The first opening on a local day after `day` (None if closed for the next year).

        Walks local dates rather than adding hours to an instant, so a DST change in between
        cannot land on the wrong day.
        """
        for offset in range(1, _SEARCH_DAYS + 1):
            later = day + timedelta(days=offset)
            interval = self.hours_on(later).interval
            if interval is not None:
                return self._instant(later, interval.opens)
        return None

    def _instant(self, day: date, wall: time) -> datetime:
        return datetime.combine(day, wall, tzinfo=self.tz)


def _overlap(first: OpenInterval | None, second: OpenInterval | None) -> OpenInterval | None:
    """The hours inside both intervals, or None when they do not overlap."""
    if first is None or second is None:
        return None
    opens, closes = max(first.opens, second.opens), min(first.closes, second.closes)
    return OpenInterval(opens=opens, closes=closes) if opens < closes else None


def location_calendar(config: PracticeConfig, location: Location) -> PracticeCalendar:
    """One office's calendar: its own weekly hours when set, else the practice's, with the
    practice's holidays and closures."""
    return PracticeCalendar(config, weekly=location.hours)


@dataclass(frozen=True)
class Office:
    """A location and its calendar."""

    location: Location
    calendar: PracticeCalendar


def offices(config: PracticeConfig, only: Location | None = None) -> tuple[Office, ...]:
    """The practice's offices in config order (or just `only`), each with its own calendar."""
    locations = (only,) if only is not None else config.locations
    return tuple(Office(loc, location_calendar(config, loc)) for loc in locations)


def open_offices(config: PracticeConfig, at: datetime) -> list[Location]:
    """The offices open at `at`; the practice is open when this is not empty."""
    return [office.location for office in offices(config) if office.calendar.is_open(at)]


class AlwaysOpen:
    """A queue staffed around the clock."""

    def is_open(self, at: datetime) -> bool:
        return True

    def next_opening(self, at: datetime) -> datetime | None:
        return at


def queue_schedule(config: PracticeConfig, queue: Queue) -> Schedule:
    """When `queue` is staffed: business hours, always, or its own weekly schedule."""
    staffed = config.queue(queue).staffed
    if staffed == "always":
        return AlwaysOpen()
    if staffed == "business_hours":
        return PracticeCalendar(config)
    assert isinstance(staffed, WeeklyHours)
    return PracticeCalendar(config, weekly=staffed)


# --- words -------------------------------------------------------------------------------------------


def format_time(wall: time) -> str:
    """8:00 -> "8am", 17:30 -> "5:30pm": how people write times in a text."""
    hour = wall.hour % 12 or 12
    suffix = "am" if wall.hour < 12 else "pm"
    return f"{hour}{suffix}" if wall.minute == 0 else f"{hour}:{wall.minute:02d}{suffix}"


def describe_span(interval: OpenInterval | None) -> str:
    """An opening as a week line writes it: "8:30am-5pm", or "closed"."""
    if interval is None:
        return "closed"
    return f"{format_time(interval.opens)}-{format_time(interval.closes)}"


def describe_day(hours: DayHours) -> str:
    """One line of the week: "Thu Dec 25: closed (Christmas Day)", "Mon Dec 22: 8am-5pm"."""
    label = f"{hours.day:%a %b} {hours.day.day}"
    span = describe_span(hours.interval)
    return f"{label}: {span} ({hours.reason})" if hours.reason else f"{label}: {span}"


def describe_differences(main: Sequence[DayHours], other: Sequence[DayHours]) -> str | None:
    """How one office's days differ from the main office's on the same dates, grouped by hours:
    "Mon, Tue, Thu 8:30am-5pm; Wed closed; Fri 8:30am-4pm" (None when they do not differ).

    Meant for a week, where each weekday name is one date; groups follow the week from Monday.
    """
    groups: list[tuple[OpenInterval | None, list[date]]] = []
    for mine, theirs in zip(main, other, strict=True):
        if mine.interval == theirs.interval:
            continue
        for interval, days in groups:
            if interval == theirs.interval:
                days.append(theirs.day)
                break
        else:
            groups.append((theirs.interval, [theirs.day]))
    if not groups:
        return None
    for _, days in groups:
        days.sort(key=date.weekday)
    groups.sort(key=lambda group: group[1][0].weekday())
    return "; ".join(
        f"{', '.join(f'{d:%a}' for d in days)} {describe_span(interval)}" for interval, days in groups
    )


def describe_date(day: date, reason: str | None = None) -> str:
    """A day as one answer names it: "Saturday, Dec 5", "Thursday, Dec 24 (Christmas Eve)".

    An observed holiday reads "(Independence Day, observed)" rather than nesting brackets.
    """
    label = f"{day:%A, %b} {day.day}"
    if not reason:
        return label
    base = reason.removesuffix(" (observed)")
    return f"{label} ({base}, observed)" if base != reason else f"{label} ({reason})"


def describe_opening(opening: datetime, now: datetime, tz: ZoneInfo) -> str:
    """When an opening is, relative to now: "today at 8am", "tomorrow at 8am", "Monday at 8am"."""
    local_open, local_now = opening.astimezone(tz), now.astimezone(tz)
    days = (local_open.date() - local_now.date()).days
    at = format_time(local_open.time())
    if days == 0:
        return f"today at {at}"
    if days == 1:
        return f"tomorrow at {at}"
    if days < 7:
        return f"{local_open:%A} at {at}"
    return f"{local_open:%A, %b} {local_open.day} at {at}"
