"""Alarms on the KMS-encrypted alarm topic: DLQ has messages, function errors, throttles."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.synthesis import ALARM_EMAIL, Synthesized, arn_of, ref

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]


def _alarm_topic_id(synth: Synthesized) -> str:
    (topic_id,) = [name for name in synth.resources("AWS::SNS::Topic") if name.startswith("AlarmsTopic")]
    return topic_id


def _alarms(synth: Synthesized, prefix: str = "AlarmsSmsInbound") -> dict[str, dict[str, Any]]:
    """The alarms of one watched function and its DLQ (the SMS turn's unless `prefix` says)."""
    return {
        alarm["Properties"]["MetricName"]: alarm["Properties"]
        for logical_id, alarm in synth.resources("AWS::CloudWatch::Alarm").items()
        if logical_id.startswith(prefix)
    }


def test_alarm_topic_is_encrypted_with_the_cmk_and_refuses_plain_http(synth: Synthesized) -> None:
    key_id, _ = synth.only("AWS::KMS::Key")
    topic_id = _alarm_topic_id(synth)
    assert synth.template_json["Resources"][topic_id]["Properties"]["KmsMasterKeyId"] == arn_of(key_id)
    (policy,) = [
        p
        for p in synth.resources("AWS::SNS::TopicPolicy").values()
        if p["Properties"]["Topics"] == [ref(topic_id)]
    ]
    (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_dlq_errors_and_throttles_alarm_on_the_first_occurrence(synth: Synthesized) -> None:
    alarms = _alarms(synth)
    assert sorted(alarms) == ["ApproximateNumberOfMessagesVisible", "Errors", "Throttles"]
    (queue_id,) = [i for i in synth.resources("AWS::SQS::Queue") if i.startswith("Conversation")]
    (function_id,) = [i for i in synth.resources("AWS::Lambda::Function") if i.startswith("Conversation")]
    assert alarms["ApproximateNumberOfMessagesVisible"]["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}
    ]
    for metric in ("Errors", "Throttles"):
        assert alarms[metric]["Dimensions"] == [{"Name": "FunctionName", "Value": ref(function_id)}]
    for alarm in alarms.values():
        assert alarm["Threshold"] == 0
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert alarm["EvaluationPeriods"] == 1
        assert alarm["TreatMissingData"] == "notBreaching"


def test_every_alarm_notifies_the_alarm_topic_when_raised_and_cleared(synth: Synthesized) -> None:
    topic = ref(_alarm_topic_id(synth))
    for alarm in (a["Properties"] for a in synth.resources("AWS::CloudWatch::Alarm").values()):
        assert alarm["AlarmActions"] == [topic]
        assert alarm["OKActions"] == [topic]


def test_alarm_email_is_subscribed_only_when_configured(
    synth: Synthesized, synth_brought_number: Synthesized
) -> None:
    assert not [
        s
        for s in synth.resources("AWS::SNS::Subscription").values()
        if s["Properties"]["Protocol"] == "email"
    ]
    synth_brought_number.template.has_resource_properties(
        "AWS::SNS::Subscription",
        {
            "Protocol": "email",
            "Endpoint": ALARM_EMAIL,
            "TopicArn": ref(_alarm_topic_id(synth_brought_number)),
        },
    )
