"""Full names as patients type them, and comparing them with the EHR's."""

from __future__ import annotations

import re

import pytest
from careline.identity.names import (
    PersonName,
    candidate_splits,
    name_key,
    names_match,
    normalize_name,
    split_full_name,
)
from hypothesis import example, given
from hypothesis import strategies as st


@pytest.mark.parametrize(
    ("text", "given_name", "family"),
    [
        ("Rosalind Quenby", "Rosalind", "Quenby"),
        ("quenby, rosalind", "rosalind", "quenby"),
        ("my name is Rosalind Quenby", "Rosalind", "Quenby"),
        ("Hi! My full name is Rosalind Quenby.", "Rosalind", "Quenby"),
        ("it's rosalind quenby thanks", "rosalind", "quenby"),
        ("María del Carmen Núñez-Peñalver", "María del Carmen", "Núñez-Peñalver"),
        ("Núñez-Peñalver, María José", "María José", "Núñez-Peñalver"),
        ("Juan de la Cruz", "Juan", "de la Cruz"),
        ("this is Dr. Tobias O'Farrow Jr.", "Tobias", "O'Farrow"),
        ("I'm Imogen Farrow and my dob is", "Imogen", "Farrow"),
        ("Imogen Farrow, born", "Imogen", "Farrow"),
    ],
)
def test_splits_a_typed_full_name(text: str, given_name: str, family: str) -> None:
    assert split_full_name(text) == PersonName(given_name, family)


@pytest.mark.parametrize(
    "text", ["Rosalind", "my name is", "", "why do you need that", "I don't know it", "12345"]
)
def test_refuses_what_is_not_a_full_name(text: str) -> None:
    assert split_full_name(text) is None


def test_offers_longer_family_names_for_unhyphenated_compound_surnames() -> None:
    readings = candidate_splits("Maria Elena Lopez Garcia")
    assert readings[0] == PersonName("Maria Elena Lopez", "Garcia")
    assert PersonName("Maria Elena", "Lopez Garcia") in readings


def test_normalizes_case_accents_hyphens_and_apostrophes() -> None:
    assert normalize_name("  María-José  O\u2019Núñez ") == "maria jose onunez"
    assert name_key("Núñez-Peñalver") == name_key("nunez penalver") == "nunezpenalver"
    assert normalize_name("Søren Łukasz") == "soren lukasz"


def test_match_ignores_accents_and_how_the_name_was_split() -> None:
    typed = PersonName("maria jose nunez", "penalver")
    assert names_match(typed, "María José", "Núñez-Peñalver")


def test_match_allows_a_given_name_shorter_than_the_ehrs() -> None:
    assert names_match(PersonName("Maria", "Nunez-Penalver"), "María José", "Núñez-Peñalver")


def test_match_refuses_another_given_name_or_family() -> None:
    assert not names_match(PersonName("Jose", "Nunez-Penalver"), "María José", "Núñez-Peñalver")
    assert not names_match(PersonName("Maria Luisa", "Nunez-Penalver"), "María José", "Núñez-Peñalver")
    assert not names_match(PersonName("Imogen", "Farrow"), "Tobias", "Farrow")
    assert not names_match(PersonName("Imogen", "Farr"), "Imogen", "Farrow")


# Particles join the surname and lead-ins ("yeah, ...", "ok ...") are stripped before a name, so
# neither can stand as a whole given or family name here.
_NOT_A_WHOLE_NAME = {
    "de",
    "del",
    "la",
    "le",
    "da",
    "do",
    "hi",
    "hello",
    "hey",
    "yes",
    "yeah",
    "yep",
    "sure",
    "ok",
    "okay",
}
_name_word = st.text(alphabet=st.characters(categories=["Lu", "Ll"]), min_size=2, max_size=10).filter(
    lambda w: (
        name_key(w) != "" and w.lower() not in _NOT_A_WHOLE_NAME and not re.fullmatch(r"(?i)(um+|uh+)", w)
    )
)


@given(_name_word, _name_word)
def test_a_two_word_name_reads_the_same_in_either_order(first: str, last: str) -> None:
    split = split_full_name(f"{first} {last}")
    reversed_split = split_full_name(f"{last}, {first}")
    assert split is None or split == reversed_split == PersonName(first, last)


@example("\u33c6")  # "㏆" decomposes into capitals: case must be folded after decomposing
@given(st.text(max_size=40))
def test_normalize_is_idempotent(text: str) -> None:
    assert normalize_name(normalize_name(text)) == normalize_name(text)
