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
    log_group_id, log_group = synth.only("AWS::Logs::LogGroup")
    key_id, _ = synth.only("AWS::KMS::Key")
    assert log_group["Properties"]["KmsKeyId"] == arn_of(key_id)
    assert log_group["Properties"]["RetentionInDays"] == 365
    assert log_group["DeletionPolicy"] == "Retain"
    (function,) = synth.resources("AWS::Lambda::Function").values()
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
