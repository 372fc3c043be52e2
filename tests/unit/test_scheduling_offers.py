"""Which real free slots are offered for a patient's time preference."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from careline.ehr.model import FreeSlot
from careline.scheduling.offers import pick_offers
from careline.scheduling.when import TimePreference, parse_time_preference
from hypothesis import given, settings
from hypothesis import strategies as st

TZ = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 12, 1, 10, 15, tzinfo=TZ)  # Tuesday


def grid(first: date, days: int, practitioner: str = "dr-chen") -> list[FreeSlot]:
    """Every 20 minutes from 8:00 to 16:40 on each weekday."""
    slots = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        start = datetime.combine(day, time(8), tzinfo=TZ)
        while start.time() < time(17):
            slots.append(
                FreeSlot(
                    f"{practitioner}-{start:%m%d%H%M}", practitioner, start, start + timedelta(minutes=20)
                )
            )
            start += timedelta(minutes=20)
    return slots


SLOTS = grid(date(2026, 12, 1), 28)


def prefer(text: str) -> TimePreference:
    preference = parse_time_preference(text, NOW, TZ)
    assert preference is not None
    return preference


def local(slot: FreeSlot) -> datetime:
    return slot.start.astimezone(TZ)


def test_a_broad_wish_gets_different_days_and_times_of_day() -> None:
    offers = pick_offers(SLOTS, prefer("any time next week"))
    assert len(offers) == 3
    assert len({local(s).date() for s in offers}) == 3
    assert {local(s).hour < 12 for s in offers} == {True, False}


def test_one_afternoon_gets_slots_spread_across_it() -> None:
    offers = pick_offers(SLOTS, prefer("next tuesday afternoon"))
    times = [local(s).time() for s in offers]
    assert times[0] == time(12)
    assert times[-1] == time(16, 40)
    assert all(
        b - a >= timedelta(hours=1)
        for a, b in zip(
            [datetime.combine(date.min, t) for t in times],
            [datetime.combine(date.min, t) for t in times[1:]],
            strict=False,
        )
    )


def test_asap_gets_the_soonest_slots_after_now() -> None:
    offers = pick_offers(SLOTS, prefer("asap"))
    assert [local(s).time() for s in offers] == [time(10, 20), time(10, 40), time(11)]


def test_a_named_time_gets_the_nearest_slots() -> None:
    offers = pick_offers(SLOTS, prefer("dec 3 at 9:30"))
    assert [local(s).time() for s in offers] == [time(9), time(9, 20), time(9, 40)]
    offers = pick_offers(SLOTS, prefer("dec 3 at 10"))
    assert [local(s).time() for s in offers] == [time(9, 40), time(10), time(10, 20)]


def test_exclusions_hold() -> None:
    offers = pick_offers(SLOTS, prefer("any day but monday or friday"), limit=3)
    assert offers
    assert all(local(s).weekday() not in (0, 4) for s in offers)


def test_the_same_time_with_two_practitioners_is_offered_once() -> None:
    both = grid(date(2026, 12, 8), 1, "dr-chen") + grid(date(2026, 12, 8), 1, "dr-okafor")
    offers = pick_offers(both, prefer("next tuesday at 9"))
    assert len({s.start for s in offers}) == len(offers)


def test_nothing_matching_offers_nothing() -> None:
    assert pick_offers(SLOTS, prefer("this weekend")) == []


@settings(max_examples=100, deadline=None)
@given(
    text=st.sampled_from(
        ["mornings", "not mondays", "next week", "tmrw after 3", "asap", "around 10", "the 15th"]
    ),
    limit=st.integers(min_value=1, max_value=4),
    keep=st.lists(st.booleans(), min_size=len(SLOTS), max_size=len(SLOTS)),
)
def test_offers_are_real_matching_distinct_slots_in_time_order(
    text: str, limit: int, keep: list[bool]
) -> None:
    preference = prefer(text)
    slots = [s for s, k in zip(SLOTS, keep, strict=True) if k]
    offers = pick_offers(slots, preference, limit)
    assert len(offers) <= limit
    assert all(s in slots and preference.matches(s.start) for s in offers)
    assert [s.start for s in offers] == sorted({s.start for s in offers})
    matching = [s for s in slots if preference.matches(s.start)]
    assert len(offers) == min(limit, len(matching))
