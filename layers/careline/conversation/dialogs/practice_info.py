"""Questions about the practice: hours (today, one day, the week), address, directions, parking, FAQ.

An hours question is answered for the day it asks about: today, tomorrow, a weekday, a date, a
holiday or one of the practice's closures. A question naming one of the practice's locations is
answered for that location only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Final

from careline.config import WEEKDAYS, Location, format_phone
from careline.conversation.dialogs.locations import named_location
from careline.conversation.dialogs.turn import Turn
from careline.practice.dates import (
    NamedDay,
    find_named_day,
    next_day_of_month,
    next_month_day,
    next_weekday,
    us_holiday_name,
)
from careline.practice.hours import (
    PracticeCalendar,
    describe_date,
    describe_day,
    describe_opening,
    format_time,
)


def _next_open(turn: Turn, calendar: PracticeCalendar) -> str:
    opening = calendar.next_opening(turn.now)
    return describe_opening(opening, turn.now, calendar.tz) if opening else "as soon as we reopen"


def hours_today(turn: Turn) -> None:
    """Open now (until when), opening later today, or closed (why, and when we open next)."""
    calendar = PracticeCalendar(turn.config)
    today = calendar.today(turn.now)
    closes = calendar.closes_at(turn.now)
    if closes is not None:
        turn.reply("hours_open_now", closes=format_time(closes.astimezone(calendar.tz).time()))
    elif today.interval is not None and calendar.local(turn.now).time() < today.interval.opens:
        turn.reply(
            "hours_opens_later_today",
            opens=format_time(today.interval.opens),
            closes=format_time(today.interval.closes),
        )
    elif today.interval is None and today.reason:
        turn.reply("hours_closed_today", reason=today.reason, next_open=_next_open(turn, calendar))
    else:
        turn.reply("hours_closed_now", next_open=_next_open(turn, calendar))


def hours_week(turn: Turn) -> None:
    """The next seven days, one line each, naming holidays and closures."""
    calendar = PracticeCalendar(turn.config)
    turn.reply("hours_week", week="\n".join(describe_day(day) for day in calendar.week(turn.now)))


def _observed_closure(calendar: PracticeCalendar, day: date, reason: str | None, today: date) -> date | None:
    """The weekday a weekend holiday is observed on, when the practice closes then and it is still ahead."""
    if not reason or day.weekday() < 5:
        return None
    for other in (day - timedelta(days=1), day + timedelta(days=1)):
        if other >= today and calendar.hours_on(other).reason == f"{reason} (observed)":
            return other
    return None


def hours_on_day(turn: Turn, asked: NamedDay) -> None:
    """One day's hours: open (and when), or closed (why, and when we open again)."""
    calendar = PracticeCalendar(turn.config)
    today = calendar.local(turn.now).date()
    hours = calendar.hours_on(asked.day)
    # the practice's own reason first ("Christmas Eve" short day), then the name the patient used
    reason = hours.reason or asked.name or us_holiday_name(asked.day)
    label = describe_date(asked.day, reason)
    tomorrow = asked.day == today + timedelta(days=1)
    if hours.interval is not None:
        key = "hours_tomorrow_open" if tomorrow else "hours_day_open"
        opens, closes = format_time(hours.interval.opens), format_time(hours.interval.closes)
        turn.reply(key, day=label, opens=opens, closes=closes)
        return
    opening = calendar.opening_after(asked.day)
    next_open = describe_opening(opening, turn.now, calendar.tz) if opening else "as soon as we reopen"
    observed = _observed_closure(calendar, asked.day, hours.reason, today)
    if observed is not None:
        turn.reply(
            "hours_day_closed_observed", day=label, observed=describe_date(observed), next_open=next_open
        )
    else:
        turn.reply(
            "hours_tomorrow_closed" if tomorrow else "hours_day_closed", day=label, next_open=next_open
        )


def asked_day(turn: Turn, entities: Mapping[str, str]) -> NamedDay | None:
    """The local day an hours question is about, or None for today (or a day we cannot place)."""
    today = PracticeCalendar(turn.config).local(turn.now).date()
    if "date" in entities:
        month, day = (int(part) for part in entities["date"].split("-"))
        found = next_month_day(today, month, day)
        return NamedDay(found) if found else None
    if "day_of_month" in entities:
        found = next_day_of_month(today, int(entities["day_of_month"]))
        return NamedDay(found) if found else None
    if "days_ahead" in entities:
        # said outright ("today", "tomorrow"): "open today? happy new year" is about today
        return NamedDay(today + timedelta(days=int(entities["days_ahead"])))
    # holiday and closure names come from the practice calendar, so the classifier leaves them here
    named = find_named_day(turn.inbound.text, today, turn.config)
    if named is not None:
        return named
    if entities.get("weekday") in WEEKDAYS:
        return NamedDay(next_weekday(today, WEEKDAYS.index(entities["weekday"])))
    return None


def hours(turn: Turn, entities: Mapping[str, str]) -> None:
    """Hours for the week, for one named day, or for today."""
    if entities.get("period") == "week":
        hours_week(turn)
        return
    asked = asked_day(turn, entities)
    today = PracticeCalendar(turn.config).local(turn.now).date()
    if asked is None or asked.day == today:
        hours_today(turn)
    else:
        hours_on_day(turn, asked)


def _per_location(turn: Turn, line: Callable[[Location], str], only: Location | None) -> str:
    return "\n".join(line(loc) for loc in ((only,) if only else turn.config.locations))


def address(turn: Turn, only: Location | None = None) -> None:
    turn.reply(
        "address", locations=_per_location(turn, lambda loc: f"{loc.name}: {loc.one_line_address}", only)
    )


def directions(turn: Turn, only: Location | None = None) -> None:
    turn.reply("directions", locations=_per_location(turn, lambda loc: f"{loc.name}: {loc.directions}", only))


def parking(turn: Turn, only: Location | None = None) -> None:
    turn.reply("parking", locations=_per_location(turn, lambda loc: f"{loc.name}: {loc.parking}", only))


def fax(turn: Turn, only: Location | None = None) -> None:
    if only is not None and only.fax is not None:
        turn.reply("fax_location", location=only.name, fax=format_phone(only.fax))
    else:
        turn.reply("fax", fax=format_phone(turn.config.faq.fax_number))


def phone(turn: Turn, only: Location | None = None) -> None:
    if only is not None:
        turn.reply("phone_location", location=only.name, phone=format_phone(only.phone))
    else:
        turn.reply("phone")


def what_to_bring(turn: Turn) -> None:
    turn.reply("what_to_bring", answer=turn.config.faq.what_to_bring)


def new_patients(turn: Turn) -> None:
    turn.reply("new_patients", answer=turn.config.faq.new_patients)


# Topics whose answer differs by location: given the location the message names, if one.
PER_LOCATION: Final[dict[str, Callable[[Turn, Location | None], None]]] = {
    "address": address,
    "directions": directions,
    "parking": parking,
    "fax": fax,
    "phone": phone,
}

TOPICS: Final[dict[str, Callable[[Turn], None]]] = {
    "what_to_bring": what_to_bring,
    "new_patients": new_patients,
}


def practice_info(turn: Turn, entities: dict[str, str]) -> None:
    """Answer the practice_info topic (hours for today when no topic or day was named)."""
    topic = entities.get("topic", "hours")
    if topic in PER_LOCATION:
        PER_LOCATION[topic](turn, named_location(turn.inbound.text, turn.config.locations))
    elif topic in TOPICS:
        TOPICS[topic](turn)
    else:
        hours(turn, entities)
