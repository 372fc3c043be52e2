"""Which offered slot a patient picks, and whether they said yes or no."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from careline.ehr.model import FreeSlot, Practitioner
from careline.scheduling.choice import (
    Ambiguous,
    NotAChoice,
    Picked,
    WantsOther,
    parse_choice,
    parse_yes_no,
)
from hypothesis import given, settings
from hypothesis import strategies as st

TZ = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=TZ)


def slot(slot_id: str, day: int, hour: int, minute: int, practitioner: str) -> FreeSlot:
    start = datetime(2026, 12, day, hour, minute, tzinfo=TZ)
    return FreeSlot(slot_id, practitioner, start, start + timedelta(minutes=20))


# Tue Dec 8 9:30 with Dr. Chen, Wed Dec 9 2:00 pm with Dr. Okafor, Thu Dec 10 4:20 pm with Dr. Chen
OFFERED = (
    slot("tue-930", 8, 9, 30, "dr-chen"),
    slot("wed-1400", 9, 14, 0, "dr-okafor"),
    slot("thu-1620", 10, 16, 20, "dr-chen"),
)
PRACTITIONERS = (Practitioner("dr-chen", "Dr. Lily Chen"), Practitioner("dr-okafor", "Dr. Daniel Okafor"))


def choose(text: str) -> object:
    return parse_choice(text, OFFERED, TZ, practitioners=PRACTITIONERS, now=NOW)


def picked(text: str) -> str:
    choice = choose(text)
    assert isinstance(choice, Picked), (text, choice)
    assert OFFERED[choice.position - 1] == choice.slot
    return choice.slot.id


@pytest.mark.parametrize(
    ("text", "slot_id"),
    [
        ("2", "wed-1400"),
        ("#2", "wed-1400"),
        ("the second one", "wed-1400"),
        ("option 3", "thu-1620"),
        ("2nd", "wed-1400"),
        ("number two", "wed-1400"),
        ("one", "tue-930"),
        ("the first", "tue-930"),
        ("the last one", "thu-1620"),
        ("Option 2 works for me thanks", "wed-1400"),
        ("3 pls", "thu-1620"),
    ],
)
def test_a_slot_is_picked_by_its_number(text: str, slot_id: str) -> None:
    assert picked(text) == slot_id


@pytest.mark.parametrize(
    ("text", "slot_id"),
    [
        ("the 9:30", "tue-930"),
        ("nine thirty", "tue-930"),
        ("the 2pm", "wed-1400"),
        ("the 4:20 one", "thu-1620"),
        ("tuesday one", "tue-930"),
        ("wednesdays", "wed-1400"),
        ("the morning one", "tue-930"),
        ("the one with dr okafor", "wed-1400"),
        ("okafur please", "wed-1400"),
        ("the dr chen one on thursday", "thu-1620"),
        ("the earlier one", "tue-930"),
        ("the latest", "thu-1620"),
    ],
)
def test_a_slot_is_picked_by_what_the_patient_sees_in_it(text: str, slot_id: str) -> None:
    assert picked(text) == slot_id


@pytest.mark.parametrize(
    ("text", "candidates"),
    [
        ("the afternoon one", {"wed-1400", "thu-1620"}),
        ("the one with dr chen", {"tue-930", "thu-1620"}),
        ("not the first one", {"wed-1400", "thu-1620"}),
    ],
)
def test_an_answer_that_fits_several_slots_is_ambiguous(text: str, candidates: set[str]) -> None:
    choice = choose(text)
    assert isinstance(choice, Ambiguous)
    assert {s.id for s in choice.candidates} == candidates


@pytest.mark.parametrize(
    ("text", "wish"),
    [
        ("none of those", "none"),
        ("neither", "none"),
        ("those dont work", "none"),
        ("later", "later"),
        ("anything sooner?", "earlier"),
        ("something later in the day", "later_in_day"),
        ("other days", "other_days"),
        ("a different day pls", "other_days"),
    ],
)
def test_turning_the_offers_down_says_what_instead(text: str, wish: str) -> None:
    choice = choose(text)
    assert isinstance(choice, WantsOther)
    assert choice.wish == wish


def test_a_day_not_offered_comes_back_as_a_new_preference() -> None:
    choice = choose("what about friday")
    assert isinstance(choice, WantsOther)
    assert choice.wish == "specific"
    assert choice.preference is not None
    assert choice.preference.matches(datetime(2026, 12, 4, 10, tzinfo=TZ))


@pytest.mark.parametrize("text", ["how much does it cost", "5", "what is your address", ""])
def test_a_message_that_picks_nothing_is_not_a_choice(text: str) -> None:
    assert isinstance(choose(text), NotAChoice)


@settings(max_examples=200, deadline=None)
@given(
    position=st.integers(min_value=1, max_value=3),
    form=st.sampled_from(["{n}", "#{n}", "option {n}", "number {n}", "{n} please", " {n}!", "i'll take {n}"]),
    hours=st.lists(st.integers(min_value=7, max_value=18), min_size=3, max_size=3),
)
def test_a_number_in_range_always_picks_that_slot(position: int, form: str, hours: list[int]) -> None:
    offered = [slot(f"s{i}", 8 + i, hour, 0, "dr-chen") for i, hour in enumerate(hours)]
    choice = parse_choice(form.format(n=position), offered, TZ)
    assert choice == Picked(offered[position - 1], position)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=40))
def test_parse_choice_never_raises(text: str) -> None:
    parse_choice(text, OFFERED, TZ, practitioners=PRACTITIONERS, now=NOW)


@pytest.mark.parametrize(
    "text",
    [
        "yes",
        "Yes!",
        "yep",
        "sure",
        "ok",
        "sounds good",
        "that works",
        "y",
        "👍",
        "yeah",
        "uh huh",
        "yes please",
        "Yes that works, thank you",
        "perfect",
        "no problem",
        "works for me",
    ],
)
def test_yes(text: str) -> None:
    assert parse_yes_no(text) is True


@pytest.mark.parametrize(
    "text", ["no", "nope", "n", "not really", "cancel that", "No thanks", "nah", "\U0001f44e", "never mind"]
)
def test_no(text: str) -> None:
    assert parse_yes_no(text) is False


@pytest.mark.parametrize(
    "text", ["maybe", "yes but can we do later", "what time?", "", "1", "no, that's fine"]
)
def test_neither_yes_nor_no(text: str) -> None:
    assert parse_yes_no(text) is None


def test_keypad_digits_answer_yes_or_no_only_when_asked_that_way() -> None:
    assert parse_yes_no("1", keypad=True) is True
    assert parse_yes_no("2", keypad=True) is False
    assert parse_yes_no("2") is None


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=40))
def test_parse_yes_no_never_raises(text: str) -> None:
    assert parse_yes_no(text) in (True, False, None)
