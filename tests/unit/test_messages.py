"""The message catalog per channel, GSM-7 detection and SMS segment counting."""

from __future__ import annotations

import math

import pytest
from careline.config import PracticeConfig
from careline.conversation.model import Channel
from careline.messages import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    MessageCatalog,
    is_gsm7,
    sms_length,
    sms_segments,
)
from hypothesis import given
from hypothesis import strategies as st

BASIC = sorted(GSM7_BASIC)
EXTENSION = sorted(GSM7_EXTENSION)
# BMP characters outside GSM-7 (accented capitals, CJK, curly quotes)
NON_GSM_BMP = st.characters(min_codepoint=0x100, max_codepoint=0xD7FF).filter(lambda c: not is_gsm7(c))


def test_sms_and_voice_wordings_differ_per_channel(practice: PracticeConfig) -> None:
    sms = practice.catalog.render("safety_emergency", Channel.SMS)
    voice = practice.catalog.render("safety_emergency", Channel.VOICE)
    assert "911" in sms
    assert "9 1 1" in voice  # spelled out so speech synthesis says "nine one one"


def test_common_placeholders_are_filled_from_the_practice(practice: PracticeConfig) -> None:
    text = practice.catalog.render("help", Channel.SMS)
    assert "Riverbend Family Medicine" in text
    assert "(503) 555-0100" in text
    assert "STOP" in text


def test_chat_uses_the_sms_wording(practice: PracticeConfig) -> None:
    assert practice.catalog.render("goodbye", Channel.CHAT) == practice.catalog.render("goodbye", Channel.SMS)


def test_rendering_with_a_missing_value_fails_loudly() -> None:
    catalog = MessageCatalog(
        templates={"hours_open_now": {"sms": "Open until {closes}", "voice": "Open until {closes}"}},
        common={"practice_name": "P", "practice_phone": "1", "website": ""},
    )
    with pytest.raises(ValueError, match="takes"):
        catalog.render("hours_open_now", Channel.SMS)
    assert catalog.render("hours_open_now", Channel.SMS, closes="5pm") == "Open until 5pm"


@pytest.mark.parametrize(
    ("key", "values"),
    [
        ("opt_out_ack", {}),
        ("help", {}),
        ("opt_in_ack", {}),
        ("safety_emergency", {}),
        ("safety_crisis", {}),
        ("greeting", {}),
        ("hours_closed_today", {"reason": "Thanksgiving Day", "next_open": "Monday at 8am"}),
        ("handoff_in_hours", {"queue_label": "front desk", "minutes": "15"}),
        ("handoff_after_hours", {"queue_label": "front desk", "next_open": "Monday at 8am"}),
        (
            "hours_day_open",
            {"day": "Thursday, Dec 24 (Christmas Eve)", "opens": "8:30am", "closes": "12:30pm"},
        ),
        (
            "hours_day_closed",
            {"day": "Wednesday, Dec 1 (Day after Thanksgiving)", "next_open": "Monday, Dec 13 at 8:30am"},
        ),
        (
            "hours_day_closed_observed",
            {
                "day": "Saturday, Jul 4 (Independence Day)",
                "observed": "Friday, Jul 3",
                "next_open": "Monday, Jul 6 at 8am",
            },
        ),
        (
            "hours_tomorrow_open",
            {"day": "Wednesday, Dec 24 (Christmas Eve)", "opens": "8:30am", "closes": "12:30pm"},
        ),
        (
            "hours_tomorrow_closed",
            {"day": "Wednesday, Nov 27 (Day after Thanksgiving)", "next_open": "Monday at 8am"},
        ),
        ("phone_location", {"location": "Riverbend St. Johns", "phone": "(503) 555-0120"}),
        ("fax_location", {"location": "Riverbend St. Johns", "fax": "(503) 555-0121"}),
        ("fallback_offer_person", {}),
    ],
)
def test_the_sample_sms_replies_fit_one_gsm7_segment(
    practice: PracticeConfig, key: str, values: dict[str, str]
) -> None:
    text = practice.catalog.render(key, Channel.SMS, **values)
    assert is_gsm7(text)
    assert sms_segments(text) == 1


def test_carrier_keyword_replies_say_how_to_reach_a_person(practice: PracticeConfig) -> None:
    for key in ("opt_out_ack", "help"):
        assert "(503) 555-0100" in practice.catalog.render(key, Channel.SMS)


@pytest.mark.parametrize(
    ("length", "segments"), [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)]
)
def test_gsm7_boundaries(length: int, segments: int) -> None:
    assert sms_segments("a" * length) == segments


@pytest.mark.parametrize(("length", "segments"), [(70, 1), (71, 2), (134, 2), (135, 3)])
def test_ucs2_boundaries(length: int, segments: int) -> None:
    assert sms_segments("Ж" * length) == segments


def test_extension_characters_count_twice() -> None:
    assert sms_length("€") == 2
    assert sms_segments("€" * 80) == 1
    assert sms_segments("€" * 81) == 2


def test_an_escape_pair_is_never_split_across_segments() -> None:
    # 152 septets then a 2-septet euro sign: it cannot straddle the 153 boundary
    text = "a" * 152 + "€" + "a" * 10
    assert sms_length(text) == 164
    assert sms_segments(text) == 2
    assert sms_segments("a" * 152 + "€" + "a" * 152) == 3


def test_one_emoji_forces_ucs2_and_counts_two_code_units() -> None:
    assert not is_gsm7("See you soon 🙂")
    assert sms_length("🙂") == 2
    assert sms_segments("🙂" * 35) == 1
    assert sms_segments("🙂" * 36) == 2


def test_curly_quotes_are_not_gsm7() -> None:
    assert not is_gsm7("we\u2019re open")
    assert is_gsm7("we're open")


def test_empty_message_is_still_one_sms() -> None:
    assert sms_segments("") == 1


@given(st.text(alphabet=BASIC, min_size=0, max_size=800))
def test_basic_gsm7_text_takes_ceil_len_over_153_segments(text: str) -> None:
    expected = 1 if len(text) <= 160 else math.ceil(len(text) / 153)
    assert is_gsm7(text)
    assert sms_segments(text) == expected


@given(st.text(alphabet=BASIC + EXTENSION, max_size=600))
def test_gsm7_length_counts_extension_characters_twice(text: str) -> None:
    assert sms_length(text) == len(text) + sum(ch in GSM7_EXTENSION for ch in text)


@given(st.text(alphabet=BASIC, min_size=1, max_size=200), st.lists(NON_GSM_BMP, min_size=1, max_size=5))
def test_any_non_gsm_character_switches_to_ucs2(text: str, extra: list[str]) -> None:
    mixed = text + "".join(extra)
    assert not is_gsm7(mixed)
    expected = 1 if len(mixed) <= 70 else math.ceil(len(mixed) / 67)
    assert sms_segments(mixed) == expected


@given(st.text(max_size=500), st.text(max_size=50))
def test_appending_never_reduces_segments(text: str, more: str) -> None:
    # Only within one encoding: appending a non-GSM character to GSM text may legitimately jump.
    if is_gsm7(text) == is_gsm7(text + more):
        assert sms_segments(text + more) >= sms_segments(text)


@given(st.text(alphabet=BASIC + EXTENSION, max_size=700))
def test_segments_hold_all_septets(text: str) -> None:
    segments = sms_segments(text)
    capacity = 160 if segments == 1 else 153 * segments
    assert sms_length(text) <= capacity
