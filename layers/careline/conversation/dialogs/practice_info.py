"""Questions about the practice: hours (today, this week), address, directions, parking, FAQ."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from careline.config import Location, format_phone
from careline.conversation.dialogs.turn import Turn
from careline.practice.hours import PracticeCalendar, describe_day, describe_opening, format_time


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


def _per_location(turn: Turn, line: Callable[[Location], str]) -> str:
    return "\n".join(line(loc) for loc in turn.config.locations)


def address(turn: Turn) -> None:
    turn.reply("address", locations=_per_location(turn, lambda loc: f"{loc.name}: {loc.one_line_address}"))


def directions(turn: Turn) -> None:
    turn.reply("directions", locations=_per_location(turn, lambda loc: f"{loc.name}: {loc.directions}"))


def parking(turn: Turn) -> None:
    turn.reply("parking", locations=_per_location(turn, lambda loc: f"{loc.name}: {loc.parking}"))


def what_to_bring(turn: Turn) -> None:
    turn.reply("what_to_bring", answer=turn.config.faq.what_to_bring)


def new_patients(turn: Turn) -> None:
    turn.reply("new_patients", answer=turn.config.faq.new_patients)


def fax(turn: Turn) -> None:
    turn.reply("fax", fax=format_phone(turn.config.faq.fax_number))


def phone(turn: Turn) -> None:
    turn.reply("phone")


TOPICS: Final[dict[str, Callable[[Turn], None]]] = {
    "address": address,
    "directions": directions,
    "parking": parking,
    "what_to_bring": what_to_bring,
    "new_patients": new_patients,
    "fax": fax,
    "phone": phone,
}


def practice_info(turn: Turn, entities: dict[str, str]) -> None:
    """Answer the practice_info topic (hours for today when no topic was named)."""
    topic = entities.get("topic", "hours")
    if topic == "hours":
        weekday = entities.get("weekday")
        asks_today = weekday is not None and weekday == f"{turn.now.astimezone(turn.config.tz):%A}".lower()
        (hours_week if entities.get("period") == "week" and not asks_today else hours_today)(turn)
    else:
        TOPICS.get(topic, hours_today)(turn)
