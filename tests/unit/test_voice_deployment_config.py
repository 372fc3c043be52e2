"""`deployment.voice`: the phone line's Connect instance, number and region, validated at load."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import yaml
from careline.config import (
    INSTANCE_ALIAS_MAX,
    PHONE_LINE_REGIONS,
    PracticeConfig,
    parse_practice_config,
)
from careline.errors import ConfigError

from tests.unit.fakes import SAMPLE_CONFIG

ACCOUNT = "123456789012"
INSTANCE_ID = "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"
NUMBER_ID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"


def instance_arn(region: str = "us-west-2", account: str = ACCOUNT) -> str:
    return f"arn:aws:connect:{region}:{account}:instance/{INSTANCE_ID}"


def number_arn(region: str = "us-west-2", account: str = ACCOUNT) -> str:
    return f"arn:aws:connect:{region}:{account}:phone-number/{NUMBER_ID}"


@pytest.fixture
def raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SAMPLE_CONFIG.read_text(encoding="utf-8"))
    return copy.deepcopy(data)


def load(data: dict[str, Any], **deployment: Any) -> PracticeConfig:
    data["deployment"].update(deployment)
    return parse_practice_config(data, "test.yaml")


def error_for(data: dict[str, Any], **deployment: Any) -> str:
    with pytest.raises(ConfigError) as info:
        load(data, **deployment)
    return str(info.value)


def test_the_sample_practice_has_a_phone_line_claiming_a_us_toll_free_number(
    practice: PracticeConfig,
) -> None:
    voice = practice.deployment.voice
    assert voice.enabled
    assert voice.existing_instance_arn is None
    assert voice.existing_phone_number_arn is None
    assert (voice.new_number.country_code, voice.new_number.type, voice.new_number.prefix) == (
        "US",
        "TOLL_FREE",
        None,
    )
    assert voice.flow_logs is False
    assert practice.deployment.region in PHONE_LINE_REGIONS


def test_the_instance_alias_defaults_to_the_stack_account_and_region(practice: PracticeConfig) -> None:
    assert practice.deployment.connect_instance_alias == "careline-123456789012-us-west-2"


@pytest.mark.parametrize(
    "stack_name", ["Careline", "Riverbend_Family-Medicine-Careline-Production-Stack", "D-Line", "d", "--"]
)
def test_a_derived_alias_is_always_one_connect_accepts(raw: dict[str, Any], stack_name: str) -> None:
    alias = load(raw, stack_name=stack_name).deployment.connect_instance_alias
    assert len(alias) <= INSTANCE_ALIAS_MAX
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", alias), alias
    assert not alias.startswith("d-")
    assert alias.endswith("-123456789012-us-west-2")


def test_an_explicit_alias_wins(raw: dict[str, Any]) -> None:
    config = load(raw, voice={"instance_alias": "riverbend-clinic"})
    assert config.deployment.connect_instance_alias == "riverbend-clinic"


@pytest.mark.parametrize(
    "alias", ["Riverbend", "river_bend", "-river", "river--bend", "d-riverbend", "a" * 46]
)
def test_an_alias_connect_would_refuse_is_named(raw: dict[str, Any], alias: str) -> None:
    assert "deployment.voice.instance_alias" in error_for(raw, voice={"instance_alias": alias})


@pytest.mark.parametrize("region", ["us-east-2", "eu-west-1", "ap-south-1", "sa-east-1", "us-west-1"])
def test_a_region_without_connect_or_lex_v2_is_refused_by_key(raw: dict[str, Any], region: str) -> None:
    message = error_for(raw, region=region)
    assert (
        f"deployment.region: the phone line needs Amazon Connect and Amazon Lex V2, which {region}" in message
    )
    assert "us-west-2" in message


def test_without_a_phone_line_any_region_is_accepted(raw: dict[str, Any]) -> None:
    config = load(raw, region="us-east-2", voice={"enabled": False})
    assert not config.deployment.voice.enabled


@pytest.mark.parametrize("region", sorted(PHONE_LINE_REGIONS - {"us-gov-west-1"}))
def test_every_phone_line_region_is_accepted(raw: dict[str, Any], region: str) -> None:
    assert load(raw, region=region).deployment.region == region


def test_govcloud_needs_a_number_claimed_outside_cloudformation(raw: dict[str, Any]) -> None:
    assert "deployment.voice.new_number: CloudFormation cannot claim" in error_for(
        raw, region="us-gov-west-1"
    )
    arn = number_arn(region="us-gov-west-1").replace("arn:aws:", "arn:aws-us-gov:")
    config = load(raw, region="us-gov-west-1", voice={"existing_phone_number_arn": arn})
    assert config.deployment.voice.existing_phone_number_arn == arn


def test_a_brought_instance_and_number_are_used(raw: dict[str, Any]) -> None:
    config = load(
        raw, voice={"existing_instance_arn": instance_arn(), "existing_phone_number_arn": number_arn()}
    )
    assert config.deployment.voice.existing_instance_arn == instance_arn()
    assert config.deployment.voice.existing_phone_number_arn == number_arn()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("existing_instance_arn", f"arn:aws:connect:us-west-2:{ACCOUNT}:instance/not-a-uuid"),
        ("existing_instance_arn", INSTANCE_ID),
        ("existing_phone_number_arn", f"arn:aws:connect:us-west-2:{ACCOUNT}:phone-number/+15035550100"),
        ("existing_phone_number_arn", instance_arn()),
    ],
)
def test_a_malformed_arn_is_named(raw: dict[str, Any], key: str, value: str) -> None:
    assert f"deployment.voice.{key}" in error_for(raw, voice={key: value})


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("existing_instance_arn", instance_arn(region="us-east-1")),
        ("existing_instance_arn", instance_arn(account="999999999999")),
        ("existing_phone_number_arn", number_arn(region="eu-west-2")),
    ],
)
def test_a_brought_resource_must_be_in_the_stacks_account_and_region(
    raw: dict[str, Any], key: str, value: str
) -> None:
    assert f"deployment.voice.{key}: must be in the stack's account and region" in error_for(
        raw, voice={key: value}
    )


@pytest.mark.parametrize(
    ("new_number", "key"),
    [
        ({"type": "LONG_CODE"}, "deployment.voice.new_number.type"),
        ({"country_code": "usa"}, "deployment.voice.new_number.country_code"),
        ({"prefix": "503"}, "deployment.voice.new_number.prefix"),
        ({"area_code": "503"}, "deployment.voice.new_number.area_code"),
    ],
)
def test_a_bad_new_number_is_named(raw: dict[str, Any], new_number: dict[str, str], key: str) -> None:
    assert key in error_for(raw, voice={"new_number": new_number})


def test_a_direct_dial_number_with_a_prefix_is_accepted(raw: dict[str, Any]) -> None:
    number = load(raw, voice={"new_number": {"type": "DID", "prefix": "+1503"}}).deployment.voice.new_number
    assert (number.country_code, number.type, number.prefix) == ("US", "DID", "+1503")


def test_an_unknown_voice_key_is_named(raw: dict[str, Any]) -> None:
    assert "deployment.voice.recording" in error_for(raw, voice={"recording": True})
