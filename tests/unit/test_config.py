"""The practice configuration: the sample loads, and every mistake is named by its key."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path
from typing import Any

import pytest
from careline.config import PracticeConfig, format_phone, load_practice_config, parse_practice_config
from careline.conversation.model import Queue
from careline.errors import ConfigError
from careline.messages import MESSAGE_PLACEHOLDERS

from tests.unit.fakes import SAMPLE_CONFIG, error_for


def test_sample_practice_loads_with_every_section(practice: PracticeConfig) -> None:
    assert practice.practice.name == "Riverbend Family Medicine"
    assert practice.practice.phone == "+15035550100"
    assert practice.practice.timezone == "America/Los_Angeles"
    assert [loc.id for loc in practice.locations] == ["hawthorne", "st-johns"]
    assert practice.business_hours.monday is not None
    assert practice.business_hours.monday.opens == time(8, 0)
    assert practice.business_hours.saturday is None
    assert set(practice.queues) == set(Queue)
    assert set(practice.messages) == set(MESSAGE_PLACEHOLDERS)
    assert practice.deployment.account == "123456789012"
    assert any(c.date == date(2026, 11, 27) for c in practice.closures)


def test_deployment_sample_is_merged_into_practice_yaml() -> None:
    assert not (SAMPLE_CONFIG.parent / "deployment.sample.yaml").exists()


def test_unknown_timezone_is_named(raw: dict[str, Any]) -> None:
    raw["practice"]["timezone"] = "Mars/Base"
    assert "practice.timezone: unknown timezone 'Mars/Base'" in error_for(raw)


def test_opening_after_closing_names_the_weekday(raw: dict[str, Any]) -> None:
    raw["business_hours"]["tuesday"] = "17:00-08:00"
    message = error_for(raw)
    assert "business_hours.tuesday" in message
    assert "opening 17:00 must be before closing 08:00" in message


def test_hours_in_the_wrong_shape_are_named(raw: dict[str, Any]) -> None:
    raw["business_hours"]["friday"] = "8 to 5"
    assert "business_hours.friday: expected 'HH:MM-HH:MM' or 'closed'" in error_for(raw)


def test_unquoted_sexagesimal_hours_are_refused_not_misread(raw: dict[str, Any]) -> None:
    raw["business_hours"]["friday"] = 540  # what PyYAML makes of an unquoted 9:00
    assert "business_hours.friday: write hours as a quoted string" in error_for(raw)


def test_a_missing_weekday_is_named(raw: dict[str, Any]) -> None:
    del raw["business_hours"]["sunday"]
    assert "business_hours.sunday: Field required" in error_for(raw)


def test_provider_at_an_unknown_location_is_named(raw: dict[str, Any]) -> None:
    raw["providers"][1]["location_ids"] = ["hawthorne", "gresham"]
    assert "providers.1.location_ids.1: unknown location 'gresham'" in error_for(raw)


def test_provider_with_an_unknown_appointment_type_is_named(raw: dict[str, Any]) -> None:
    raw["providers"][0]["appointment_types"].append("acupuncture")
    assert "providers.0.appointment_types.4: unknown appointment type 'acupuncture'" in error_for(raw)


def test_duplicate_location_ids_are_named(raw: dict[str, Any]) -> None:
    raw["locations"][1]["id"] = "hawthorne"
    assert "locations.1: duplicate id 'hawthorne'" in error_for(raw)


def test_an_unknown_holiday_name_is_named(raw: dict[str, Any]) -> None:
    raw["holidays"]["closed_on"].append("Xmas")
    assert "holidays.closed_on: unknown US holiday 'Xmas'" in error_for(raw)


def test_a_missing_queue_is_named(raw: dict[str, Any]) -> None:
    del raw["queues"]["nurse"]
    assert "queues: missing queue(s) the engine routes to: nurse" in error_for(raw)


def test_an_unknown_queue_is_named(raw: dict[str, Any]) -> None:
    raw["queues"]["pharmacy"] = {"label": "pharmacy", "reply_within_minutes": 30}
    assert "queues.pharmacy" in error_for(raw)


def test_template_with_a_placeholder_its_message_does_not_supply_is_named(raw: dict[str, Any]) -> None:
    raw["messages"]["greeting"]["sms"] = "Hi {patient_name}, this is {practice_name}."
    message = error_for(raw)
    assert "messages.greeting.sms: unknown placeholder(s) {patient_name}" in message


def test_template_placeholder_belonging_to_another_message_is_refused(raw: dict[str, Any]) -> None:
    # {closes} is supplied to hours_open_now, not to goodbye
    raw["messages"]["goodbye"]["voice"] = "Bye! We close at {closes}."
    assert "messages.goodbye.voice: unknown placeholder(s) {closes}" in error_for(raw)


def test_positional_or_formatted_placeholders_are_refused(raw: dict[str, Any]) -> None:
    raw["messages"]["phone"]["sms"] = "Call {0} or {practice_phone!r}"
    assert "messages.phone.sms: placeholder {0} must be a plain name" in error_for(raw)


def test_a_missing_message_key_is_named(raw: dict[str, Any]) -> None:
    del raw["messages"]["help"]
    assert "messages: missing message key(s): help" in error_for(raw)


def test_a_message_without_its_voice_wording_is_named(raw: dict[str, Any]) -> None:
    del raw["messages"]["help"]["voice"]
    assert "messages.help.voice: Field required" in error_for(raw)


def test_an_unknown_top_level_key_is_named(raw: dict[str, Any]) -> None:
    raw["pharmacy"] = {}
    assert "pharmacy: Extra inputs are not permitted" in error_for(raw)


def test_a_bad_phone_number_is_named(raw: dict[str, Any]) -> None:
    raw["locations"][0]["fax"] = "503-555-0101"
    assert "locations.0.fax" in error_for(raw)


def test_every_problem_is_reported_at_once(raw: dict[str, Any]) -> None:
    raw["practice"]["timezone"] = "Nowhere/Town"
    raw["business_hours"]["monday"] = "nine to five"
    message = error_for(raw)
    assert "practice.timezone" in message
    assert "business_hours.monday" in message


def test_top_level_must_be_a_mapping() -> None:
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        parse_practice_config(["not", "a", "mapping"])


def test_missing_and_unparseable_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_practice_config(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("practice: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_practice_config(broken)


def test_us_numbers_are_written_the_way_people_read_them() -> None:
    assert format_phone("+15035550100") == "(503) 555-0100"
    assert format_phone("+442071234567") == "+442071234567"
