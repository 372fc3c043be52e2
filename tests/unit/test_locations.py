"""Which location a message names: matched from the configured names and streets, never hard-coded."""

from __future__ import annotations

import pytest
from careline.config import PracticeConfig
from careline.conversation.dialogs.locations import named_location, short_names


@pytest.mark.parametrize(
    ("text", "location_id"),
    [
        ("where is your st johns clinic", "st-johns"),
        ("directions to the lombard office", "st-johns"),
        ("parking at hawthorne?", "hawthorne"),
        ("address for Riverbend Hawthorne", "hawthorne"),
        ("phone number for saint john office", "st-johns"),  # a near miss still names it
        ("how do i get to the hawthorn one", "hawthorne"),
    ],
)
def test_a_location_is_named_by_its_name_or_street(
    practice: PracticeConfig, text: str, location_id: str
) -> None:
    location = named_location(text, practice.locations)
    assert location is not None
    assert location.id == location_id


@pytest.mark.parametrize(
    "text",
    [
        "where are you located",
        "where is riverbend",  # shared by both offices
        "is it on a street with parking",
        "hawthorne or lombard, which is closer?",
        "what is the suite number",
    ],
)
def test_no_single_location_is_named(practice: PracticeConfig, text: str) -> None:
    assert named_location(text, practice.locations) is None


def test_words_come_from_the_config(practice: PracticeConfig) -> None:
    hawthorne = practice.location("hawthorne")
    moved = {"id": "belmont", "name": "Riverbend Belmont", "address_lines": ("3300 SE Belmont St",)}
    locations = (hawthorne.model_copy(update=moved), practice.location("st-johns"))
    assert named_location("parking at hawthorne?", locations) is None
    found = named_location("parking at belmont?", locations)
    assert found is not None
    assert found.id == "belmont"


def test_a_single_location_practice_needs_no_matching(practice: PracticeConfig) -> None:
    assert named_location("where is the lombard office", practice.locations[1:]) is None


def test_short_names_drop_the_words_every_office_name_shares(practice: PracticeConfig) -> None:
    assert short_names(practice.locations) == {"hawthorne": "Hawthorne", "st-johns": "St. Johns"}


def test_a_lone_office_or_a_name_with_nothing_else_keeps_its_whole_name(practice: PracticeConfig) -> None:
    hawthorne = practice.location("hawthorne")
    assert short_names([hawthorne]) == {"hawthorne": "Riverbend Hawthorne"}
    plain = hawthorne.model_copy(update={"id": "main", "name": "Riverbend"})
    assert short_names([hawthorne, plain]) == {"hawthorne": "Riverbend Hawthorne", "main": "Riverbend"}
