"""`CarelineFunction` defaults: its log group and the retention rounding."""

from __future__ import annotations

import pytest
from aws_cdk import aws_logs as logs

from infra.function import log_retention
from tests.infra.synthesis import Synthesized, arn_of, ref

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]


def test_function_logs_to_its_own_cmk_encrypted_log_group_with_the_configured_retention(
    synth: Synthesized,
) -> None:
    # the SMS turn's function; every other CarelineFunction is built the same way
    (log_group_id,) = [
        i for i in synth.resources("AWS::Logs::LogGroup") if i.startswith("ConversationSmsInbound")
    ]
    log_group = synth.template_json["Resources"][log_group_id]
    key_id, _ = synth.only("AWS::KMS::Key")
    assert log_group["Properties"]["KmsKeyId"] == arn_of(key_id)
    assert log_group["Properties"]["RetentionInDays"] == 365
    assert log_group["DeletionPolicy"] == "Retain"
    (function,) = [
        f for i, f in synth.resources("AWS::Lambda::Function").items() if i.startswith("Conversation")
    ]
    assert function["Properties"]["LoggingConfig"] == {"LogGroup": ref(log_group_id)}


@pytest.mark.parametrize(
    ("days", "retention"),
    [
        (1, logs.RetentionDays.ONE_DAY),
        (365, logs.RetentionDays.ONE_YEAR),
        (366, logs.RetentionDays.THIRTEEN_MONTHS),
        (2190, logs.RetentionDays.SIX_YEARS),
        (5000, logs.RetentionDays.TEN_YEARS),
    ],
)
def test_log_retention_rounds_up_to_a_period_cloudwatch_offers(
    days: int, retention: logs.RetentionDays
) -> None:
    assert log_retention(days) == retention
