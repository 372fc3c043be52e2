"""The reminder text's rules, the patient's time zone, and the `reminders:` config's validation."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from careline.config import PracticeConfig, ReminderPolicy, ReminderWording, parse_practice_config
from careline.conversation.optout import Keyword, match_keyword
from careline.reminders import ZoneSource, area_code, compose_reminder_sms, patient_zone, visit_when
from careline.reminders.timezones import AREA_CODE_STATES, AREA_CODE_ZONES, STATE_ZONES
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.fakes import error_for

LA = ZoneInfo("America/Los_Angeles")
NY = ZoneInfo("America/New_York")
TYPICAL_NAMES = [
    "Riverbend Family Medicine",
    "Dr. Patel's Office",
    "Northside Pediatrics",
    "Smith & Jones Internal Medicine",
    "Lakeview Community Health Center",
]

# --- the text -------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(TYPICAL_NAMES),
    st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31)).map(lambda d: d.replace(tzinfo=UTC)),
    st.sampled_from([LA, NY, ZoneInfo("Pacific/Honolulu")]),
)
def test_a_typical_reminder_is_one_gsm7_segment_naming_the_practice_and_stop(
    name: str, starts_at: datetime, zone: ZoneInfo
) -> None:
    reminder = compose_reminder_sms(ReminderWording(), name, starts_at, zone)
    assert reminder.segments == 1
    assert reminder.encoding == "GSM-7"
    assert not reminder.short
    assert name in reminder.text
    assert "Reply STOP to opt out" in reminder.text
    assert visit_when(starts_at, zone) in reminder.text


def test_the_visit_time_is_on_the_patients_clock() -> None:
    starts = datetime(2026, 12, 1, 17, 30, tzinfo=UTC)
    assert visit_when(starts, LA) == "Tue Dec 1 at 9:30am"
    assert visit_when(starts, NY) == "Tue Dec 1 at 12:30pm"


def test_a_long_name_falls_back_to_the_short_wording_in_one_segment() -> None:
    name = "Greater Riverbend Valley Family and Internal Medicine Associates"
    reminder = compose_reminder_sms(ReminderWording(), name, datetime(2026, 12, 1, 17, tzinfo=UTC), LA)
    assert reminder.short
    assert reminder.segments == 1
    assert name in reminder.text
    assert "STOP" in reminder.text


def test_a_name_outside_gsm7_is_measured_as_ucs2() -> None:
    reminder = compose_reminder_sms(
        ReminderWording(), "Clínica Familiar", datetime(2026, 12, 1, 17, tzinfo=UTC), LA
    )
    assert reminder.encoding == "UCS-2"
    assert reminder.short  # 70 code units a segment: the first wording takes two or more
    assert reminder.segments == 2  # the short one still needs two; better than three


def test_the_reply_options_never_include_a_carrier_opt_out_word() -> None:
    reminder = compose_reminder_sms(ReminderWording(), "Riverbend", datetime(2026, 12, 1, 17, tzinfo=UTC), LA)
    words = [w.strip(".,:=") for w in reminder.text.split()]
    opt_outs = [w for w in words if w.isupper() and match_keyword(w) is Keyword.OPT_OUT]
    assert opt_outs == ["STOP"]  # not CANCEL: alone, carriers read it as STOP


def test_no_clinical_detail_of_the_visit_reaches_the_text() -> None:
    # what the EHR knows about this visit; none of it may be in a reminder
    visit = {
        "provider": "Dr. Lily Chen, Cardiology",
        "type": "Diabetes follow-up",
        "reason": "chest pain and insulin dose",
        "location": "Oncology wing",
    }
    reminder = compose_reminder_sms(ReminderWording(), "Riverbend", datetime(2026, 12, 1, 17, tzinfo=UTC), LA)
    clinical_words = {w.lower().strip(",.") for value in visit.values() for w in value.split()} - {
        "and",
        "dr.",
    }
    assert not {w.lower().strip(",.:") for w in reminder.text.split()} & clinical_words


@pytest.mark.parametrize(
    ("wording", "message"),
    [
        (
            "{practice_name}: visit {when} for {reason}. Reply STOP to opt out.",
            "unknown placeholder(s) {reason}",
        ),
        (
            "{practice_name}: visit {when} with {provider}. STOP to opt out",
            "unknown placeholder(s) {provider}",
        ),
        ("Your visit {when}. Reply STOP to opt out.", "must use {practice_name}"),
        ("{practice_name}: visit {when}. Reply C to confirm.", "must say how to opt out"),
        ("{practice_name}: visit {when}. Reply CANCEL to cancel, STOP to opt out.", "CANCEL is a carrier"),
    ],
)
def test_the_wording_is_refused_unless_it_keeps_the_rules(wording: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        ReminderWording(sms=wording)


# --- the patient's zone ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "phone", "zone", "source"),
    [
        ("OR", "+15035550123", "America/Los_Angeles", ZoneSource.ADDRESS),
        ("NY", "+15035550123", "America/New_York", ZoneSource.ADDRESS),  # moved east, kept the number
        ("ky", "+12705550123", "America/Chicago", ZoneSource.ADDRESS_AND_AREA_CODE),  # Paducah
        ("KY", "+15025550123", "America/Kentucky/Louisville", ZoneSource.ADDRESS),
        ("TN", "+18655550123", "America/New_York", ZoneSource.ADDRESS_AND_AREA_CODE),  # Knoxville
        ("TN", "+16155550123", "America/Chicago", ZoneSource.ADDRESS),  # Nashville
        ("TX", "+19155550123", "America/Denver", ZoneSource.ADDRESS_AND_AREA_CODE),  # El Paso
        ("FL", "+18505550123", "America/Chicago", ZoneSource.ADDRESS_AND_AREA_CODE),  # Pensacola
        ("IN", "+12195550123", "America/Chicago", ZoneSource.ADDRESS_AND_AREA_CODE),  # Gary
        ("FL", "+12705550123", "America/New_York", ZoneSource.ADDRESS),  # a Kentucky number in Florida
        (None, "+19075550123", "America/Anchorage", ZoneSource.AREA_CODE),
        (None, "+18085550123", "Pacific/Honolulu", ZoneSource.AREA_CODE),
        (None, "+16025550123", "America/Phoenix", ZoneSource.AREA_CODE),
        ("ZZ", "+12125550123", "America/New_York", ZoneSource.AREA_CODE),  # not a state we know
        (None, "+18005550123", "America/Los_Angeles", ZoneSource.PRACTICE),  # toll-free
        (None, "+442071234567", "America/Los_Angeles", ZoneSource.PRACTICE),  # not NANP
        (None, None, "America/Los_Angeles", ZoneSource.PRACTICE),
    ],
)
def test_patient_zone_from_address_then_number_then_practice(
    state: str | None, phone: str | None, zone: str, source: ZoneSource
) -> None:
    found = patient_zone(state=state, phone=phone, practice_zone="America/Los_Angeles")
    assert (found.zone.key, found.source) == (zone, source)


def test_the_tables_cover_every_state_and_dc_with_real_zones() -> None:
    assert len(STATE_ZONES) == 51
    assert set(AREA_CODE_STATES.values()) == set(STATE_ZONES)
    assert len(AREA_CODE_ZONES) > 330
    for zone in {*STATE_ZONES.values(), *AREA_CODE_ZONES.values()}:
        ZoneInfo(zone)
    assert all(len(code) == 3 and code[0] in "23456789" for code in AREA_CODE_ZONES)


def test_area_code_needs_a_whole_nanp_number() -> None:
    assert area_code("+15035550100") == "503"
    assert area_code("5035550100") is None
    assert area_code("+1503555010") is None
    assert area_code("+15031550100") is None  # an exchange cannot start with 1


# --- the config -----------------------------------------------------------------------------------


def test_a_config_without_reminders_gets_the_defaults(raw: dict[str, Any], practice: PracticeConfig) -> None:
    del raw["reminders"]
    assert parse_practice_config(raw).reminders == ReminderPolicy() == practice.reminders


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r["tiers"][1].update(from_probability=0.5), "rising from_probability"),
        (lambda r: r["tiers"][0].update(from_probability=0.1), "must start at from_probability 0"),
        (lambda r: r["tiers"][2].update(from_probability=1.5), "less than or equal to 1"),
        (lambda r: r["tiers"][0]["cadence"][0].update(hours_before=0), "greater than 0"),
        (lambda r: r["tiers"][0]["cadence"][0].update(channel="fax"), "'sms', 'email' or 'call_task'"),
        (lambda r: r["tiers"][1]["cadence"].append({"hours_before": 72, "channel": "email"}), "72h"),
        (lambda r: r.update(send_window="21:00-08:00"), "earliest 21:00 must be before latest 08:00"),
        (lambda r: r.update(send_window=480), "quoted string"),
        (lambda r: r.update(max_per_day=0), "greater than or equal to 1"),
        (lambda r: r.update(max_per_day=4), "cannot be more than max_per_week"),
        (lambda r: r.update(min_lead_minutes=-1), "greater than or equal to 0"),
    ],
)
def test_a_bad_reminders_section_is_named(raw: dict[str, Any], change: Any, message: str) -> None:
    change(raw["reminders"])
    error = error_for(raw)
    assert "reminders" in error
    assert message in error


def test_the_sample_sms_wording_is_what_the_default_says(practice: PracticeConfig) -> None:
    starts = datetime(2026, 12, 1, 17, tzinfo=UTC) + timedelta(days=1)
    reminder = compose_reminder_sms(practice.reminders.wording, practice.practice.name, starts, practice.tz)
    assert reminder.text == (
        "Riverbend Family Medicine: reminder of your visit Wed Dec 2 at 9am. "
        "Reply C to confirm, R to reschedule, X to cancel. Reply STOP to opt out."
    )
