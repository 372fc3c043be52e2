"""Questions about the practice: hours (today, one day, the week), address, directions, parking, FAQ.

An hours question is answered for the day it asks about: today, tomorrow, a weekday, a date, a
holiday or one of the practice's closures. A question naming one of the practice's locations is
answered for that location only, by its own hours. Otherwise the answer covers every office: said
once when they agree, office by office when their hours differ on the day(s) asked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final, TypeVar

from careline.config import WEEKDAYS, Location, OpenInterval, format_phone
from careline.conversation.dialogs.locations import named_location, short_names
from careline.conversation.dialogs.turn import Turn
from careline.conversation.model import Channel
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
    describe_differences,
    describe_opening,
    format_time,
    offices,
)

_T = TypeVar("_T")


@dataclass(frozen=True)
class _Office:
    """One office as an hours answer names it: its short name and its own calendar."""

    name: str
    location: Location
    calendar: PracticeCalendar


def _offices(turn: Turn, only: Location | None) -> list[_Office]:
    names = short_names(turn.config.locations)
    return [_Office(names[o.location.id], o.location, o.calendar) for o in offices(turn.config, only)]


def _grouped(items: Sequence[tuple[_Office, _T]]) -> list[tuple[list[_Office], _T]]:
    """Offices with equal answers together, in the order they first appear: said once, not twice."""
    groups: list[tuple[list[_Office], _T]] = []
    for office, value in items:
        for members, seen in groups:
            if seen == value:
                members.append(office)
                break
        else:
            groups.append(([office], value))
    return groups


def _names(group: Sequence[_Office]) -> str:
    return ", ".join(office.name for office in group)


def _lines(turn: Turn, lines: Sequence[str]) -> str:
    # a text shows one office per line; a spoken answer runs its sentences on
    return (" " if turn.inbound.channel is Channel.VOICE else "\n").join(lines)


def _reply(turn: Turn, only: Location | None, key: str, **values: str) -> None:
    """Reply with message `key`; for an office the patient named, say which office it is about."""
    if only is None:
        turn.reply(key, **values)
    else:
        office = short_names(turn.config.locations)[only.id]
        turn.reply("hours_at_office", office=office, answer=turn.render(key, **values))


def _when(turn: Turn, opening: datetime | None) -> str:
    return describe_opening(opening, turn.now, turn.config.tz) if opening else "as soon as we reopen"


def _next_open(turn: Turn, openings: Sequence[tuple[_Office, datetime | None]]) -> str:
    """When we open next: the earliest office's opening, then any office opening later.

    "tomorrow at 8am (St. Johns Thursday at 8:30am)", so no office's hours pass for all of them.
    """
    known = [(office, at) for office, at in openings if at is not None]
    if not known:
        return _when(turn, None)
    groups = _grouped(known)
    earliest = min(at for _, at in groups)
    if len(groups) == 1:
        return _when(turn, earliest)
    tz = turn.config.tz
    others = [
        turn.render(
            "hours_office_next_open",
            office=_names(group),
            # the same day as the earliest opening needs only its time: "St. Johns at 8:30am"
            next_open=f"at {format_time(at.astimezone(tz).time())}"
            if at.astimezone(tz).date() == earliest.astimezone(tz).date()
            else _when(turn, at),
        )
        for group, at in groups
        if at != earliest
    ]
    return turn.render("hours_next_open_by_office", next_open=_when(turn, earliest), others="; ".join(others))


@dataclass(frozen=True)
class _Today:
    """One office's answer about today: open until, opening later, or closed (and until when)."""

    closes: time | None = None
    later: OpenInterval | None = None
    closed_all_day: bool = False
    reason: str | None = None
    next_open: datetime | None = None


def _today(turn: Turn, calendar: PracticeCalendar) -> _Today:
    today = calendar.today(turn.now)
    closes = calendar.closes_at(turn.now)
    if closes is not None:
        return _Today(closes=closes.astimezone(calendar.tz).time())
    if today.interval is not None and calendar.local(turn.now).time() < today.interval.opens:
        return _Today(later=today.interval)
    return _Today(
        closed_all_day=today.interval is None,
        reason=today.reason,
        next_open=calendar.next_opening(turn.now),
    )


def _today_line(turn: Turn, group: Sequence[_Office], state: _Today) -> str:
    office = _names(group)
    if state.closes is not None:
        return turn.render("hours_office_open_now", office=office, closes=format_time(state.closes))
    if state.later is not None:
        opens, closes = format_time(state.later.opens), format_time(state.later.closes)
        return turn.render("hours_office_opens_later_today", office=office, opens=opens, closes=closes)
    key = "hours_office_closed_today" if state.closed_all_day else "hours_office_closed_now"
    return turn.render(key, office=office, next_open=_when(turn, state.next_open))


def hours_today(turn: Turn, only: Location | None = None) -> None:
    """Open now (until when), opening later today, or closed (why, and when we open next).

    With no office named, the practice is open when any office is; offices whose answers differ
    get a line each, so the patient sees which one is open.
    """
    everywhere = _offices(turn, only)
    states = [(office, _today(turn, office.calendar)) for office in everywhere]
    if all(state.closes is None and state.later is None for _, state in states):
        next_open = _next_open(turn, [(office, state.next_open) for office, state in states])
        reasons = {state.reason for _, state in states}
        reason = states[0][1].reason
        if reason and len(reasons) == 1 and all(state.closed_all_day for _, state in states):
            _reply(turn, only, "hours_closed_today", reason=reason, next_open=next_open)
        else:
            _reply(turn, only, "hours_closed_now", next_open=next_open)
        return
    groups = _grouped(states)
    if len(groups) > 1:
        lines = [_today_line(turn, group, state) for group, state in groups]
        turn.reply("hours_today_by_office", offices=_lines(turn, lines))
        return
    state = groups[0][1]
    if state.closes is not None:
        _reply(turn, only, "hours_open_now", closes=format_time(state.closes))
    elif state.later is not None:
        opens, closes = format_time(state.later.opens), format_time(state.later.closes)
        _reply(turn, only, "hours_opens_later_today", opens=opens, closes=closes)


def hours_week(turn: Turn, only: Location | None = None) -> None:
    """The next seven days, one line each, naming holidays and closures.

    When offices keep different hours, the list is the main office's (the one keeping the
    practice's business hours), and each other office adds one line of the days it differs.
    """
    everywhere = _offices(turn, only)
    weeks = {office.location.id: office.calendar.week(turn.now) for office in everywhere}
    groups = _grouped([(o, tuple(d.interval for d in weeks[o.location.id])) for o in everywhere])
    main = next((o for o in everywhere if o.location.hours is None), everywhere[0])
    main_week = weeks[main.location.id]
    week = "\n".join(describe_day(day) for day in main_week)
    if len(groups) == 1:
        _reply(turn, only, "hours_week", week=week)
        return
    others: list[str] = []
    main_group: Sequence[_Office] = (main,)
    for group, _ in groups:
        if main in group:
            main_group = group
            continue
        days = describe_differences(main_week, weeks[group[0].location.id])
        if days:
            others.append(turn.render("hours_week_office_differs", office=_names(group), days=days))
    turn.reply("hours_week_by_office", office=_names(main_group), week=week, others=_lines(turn, others))


def _observed_closure(calendar: PracticeCalendar, day: date, reason: str | None, today: date) -> date | None:
    """The weekday a weekend holiday is observed on, when the practice closes then and it is still ahead."""
    if not reason or day.weekday() < 5:
        return None
    for other in (day - timedelta(days=1), day + timedelta(days=1)):
        if other >= today and calendar.hours_on(other).reason == f"{reason} (observed)":
            return other
    return None


def _day_line(turn: Turn, group: Sequence[_Office], interval: OpenInterval | None) -> str:
    if interval is None:
        return turn.render("hours_office_day_closed", office=_names(group))
    opens, closes = format_time(interval.opens), format_time(interval.closes)
    return turn.render("hours_office_day_open", office=_names(group), opens=opens, closes=closes)


def hours_on_day(turn: Turn, asked: NamedDay, only: Location | None = None) -> None:
    """One day's hours: open (and when), or closed (why, and when we open again).

    Offices keeping different hours that day get a line each.
    """
    everywhere = _offices(turn, only)
    calendar = everywhere[0].calendar
    today = calendar.local(turn.now).date()
    days = [(office, office.calendar.hours_on(asked.day)) for office in everywhere]
    # holidays and closures are the practice's, so every office's day carries the same reason;
    # the practice's own reason first ("Christmas Eve" short day), then the name the patient used
    own_reason = days[0][1].reason
    label = describe_date(asked.day, own_reason or asked.name or us_holiday_name(asked.day))
    tomorrow = asked.day == today + timedelta(days=1)
    groups = _grouped([(office, hours.interval) for office, hours in days])
    if len(groups) > 1:
        lines = [_day_line(turn, group, interval) for group, interval in groups]
        key = "hours_tomorrow_by_office" if tomorrow else "hours_day_by_office"
        turn.reply(key, day=label, offices=_lines(turn, lines))
        return
    interval = groups[0][1]
    if interval is not None:
        key = "hours_tomorrow_open" if tomorrow else "hours_day_open"
        opens, closes = format_time(interval.opens), format_time(interval.closes)
        _reply(turn, only, key, day=label, opens=opens, closes=closes)
        return
    reopenings = [(office, office.calendar.opening_after(asked.day)) for office in everywhere]
    next_open = _next_open(turn, reopenings)
    observed = _observed_closure(calendar, asked.day, own_reason, today)
    if observed is not None:
        _reply(
            turn,
            only,
            "hours_day_closed_observed",
            day=label,
            observed=describe_date(observed),
            next_open=next_open,
        )
    else:
        key = "hours_tomorrow_closed" if tomorrow else "hours_day_closed"
        _reply(turn, only, key, day=label, next_open=next_open)


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
    """Hours for the week, for one named day, or for today: for the office the message names, if any."""
    only = named_location(turn.inbound.text, turn.config.locations)
    if entities.get("period") == "week":
        hours_week(turn, only)
        return
    asked = asked_day(turn, entities)
    today = PracticeCalendar(turn.config).local(turn.now).date()
    if asked is None or asked.day == today:
        hours_today(turn, only)
    else:
        hours_on_day(turn, asked, only)


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
