"""Which real free slots to offer a patient: up to three that fit what they asked for.

A broad wish ("next week", "mornings") gets choices that differ, on different days and at
different times of day, rather than three slots in a row; "asap" gets the soonest; a named time
("dec 3 at 9:30") gets the slots nearest to it. Exclusions ("not mondays") always hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from careline.ehr.model import FreeSlot
from careline.scheduling.when import AFTERNOON, MORNING, TimePreference


def _part_of_day(local: datetime) -> int:
    """0 morning, 1 afternoon, 2 evening: offers try to cover different ones."""
    at = local.time()
    if MORNING.contains(at) or at < MORNING.start:
        return 0
    return 1 if AFTERNOON.contains(at) else 2


def _minutes_apart(a: datetime, b: datetime) -> float:
    return abs((a - b).total_seconds()) / 60


def pick_offers(slots: Sequence[FreeSlot], preference: TimePreference, limit: int = 3) -> list[FreeSlot]:
    """Up to `limit` of `slots` that suit `preference`, in time order.

    One slot per start time (the first listed wins), so a patient is never offered the same time
    twice.
    """
    tz = preference.tz
    by_start: dict[datetime, FreeSlot] = {}
    for slot in sorted(slots, key=lambda s: s.start):
        if preference.matches(slot.start):
            by_start.setdefault(slot.start, slot)
    matching = list(by_start.values())
    if limit <= 0 or not matching:
        return []
    if preference.soonest:
        return matching[:limit]
    if preference.targets:
        return sorted(_nearest(matching, preference, tz)[:limit], key=lambda s: s.start)
    return sorted(_spread(matching, tz, limit), key=lambda s: s.start)


def _nearest(matching: list[FreeSlot], preference: TimePreference, tz: ZoneInfo) -> list[FreeSlot]:
    """Nearest to a time the patient named, sooner days first among equally near ones."""

    def distance(slot: FreeSlot) -> tuple[float, datetime]:
        local = slot.start.astimezone(tz)
        wanted = [datetime.combine(local.date(), t, tzinfo=tz) for t in preference.targets]
        return min(_minutes_apart(local, w) for w in wanted), slot.start

    return sorted(matching, key=distance)


def _spread(matching: list[FreeSlot], tz: ZoneInfo, limit: int) -> list[FreeSlot]:
    """The soonest days, one slot each, covering different parts of the day; then, when fewer
    days than offers, the slots farthest from those already chosen."""
    by_day: dict[date, list[FreeSlot]] = {}
    for slot in matching:
        by_day.setdefault(slot.start.astimezone(tz).date(), []).append(slot)
    chosen: list[FreeSlot] = []
    parts: set[int] = set()
    for day_slots in by_day.values():
        if len(chosen) == limit:
            break
        fresh = [s for s in day_slots if _part_of_day(s.start.astimezone(tz)) not in parts]
        pick = (fresh or day_slots)[0]
        chosen.append(pick)
        parts.add(_part_of_day(pick.start.astimezone(tz)))
    while len(chosen) < limit:
        rest = [s for s in matching if s not in chosen]
        if not rest:
            break
        # the slot farthest from every chosen one, the earliest among equals
        far = max(
            rest, key=lambda s: (min(_minutes_apart(s.start, c.start) for c in chosen), -s.start.timestamp())
        )
        chosen.append(far)
    return chosen
