"""Synthesize the Careline app once per session: an SMS-only practice with a new number, the sample
practice with its phone line, and one bringing its own number, Connect instance and EHR."""

from __future__ import annotations

import os

import pytest

# Node 20's end-of-life banner would otherwise be printed by every jsii start.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from tests.infra.phone_lines import BROUGHT_INSTANCE, NEW_INSTANCE, SMS_ONLY
from tests.infra.synthesis import (
    ALARM_EMAIL,
    BROUGHT_POOL_ID,
    EHR_SECRET_ARN,
    EHR_SECRET_KEY_ARN,
    Synthesized,
    synthesize,
    write_practice_config,
)


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The practice that lets the stack request a new toll-free number, SMS only (no phone line)."""
    root = tmp_path_factory.mktemp("synth-new-number")
    config_path = write_practice_config(root / "practice.yaml", alarm_email=None, voice=SMS_ONLY)
    return synthesize(config_path, root / "cdk.out")


@pytest.fixture(scope="session")
def synth_phone_line(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The sample practice as shipped: new SMS number, and a phone line on a new Connect instance."""
    root = tmp_path_factory.mktemp("synth-phone-line")
    config_path = write_practice_config(root / "practice.yaml", alarm_email=None, voice=NEW_INSTANCE)
    return synthesize(config_path, root / "cdk.out")


@pytest.fixture(scope="session")
def synth_brought_number(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """A practice that brings its own End User Messaging pool, EHR secret, Connect instance and
    number (flow logs on), and wants alarm e-mails."""
    root = tmp_path_factory.mktemp("synth-brought-number")
    config_path = write_practice_config(
        root / "practice.yaml",
        alarm_email=ALARM_EMAIL,
        sms={"existing_origination_identity": BROUGHT_POOL_ID},
        ehr_secret_arn=EHR_SECRET_ARN,
        ehr_secret_kms_key_arn=EHR_SECRET_KEY_ARN,
        voice=BROUGHT_INSTANCE,
    )
    return synthesize(config_path, root / "cdk.out")
