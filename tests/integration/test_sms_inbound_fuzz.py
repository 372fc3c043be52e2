"""Hostile and malformed SNS events: the handler never raises, and every record is either answered
or parked on the quarantine queue (counted), so nothing is lost and nothing loops on retries."""

from __future__ import annotations

import copy
import json
from typing import Any

import boto3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sms_inbound_events import sms_record

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
odd_text = st.one_of(
    st.text(max_size=200),
    st.sampled_from(
        [
            "",
            " ",
            "\x00STOP\x00",
            "\ud800 lone surrogate",
            "STOP\u200b",
            "\uff33\uff34\uff2f\uff30",  # fullwidth STOP
            "🆘🆘🆘",
            "\u202eevil rtl",
            "x" * 6_000,
            "y" * 300_000,
            "' OR 1=1 --",
            "{{practice_name}}",
        ]
    ),
)
PAYLOAD_FIELDS = [
    "originationNumber",
    "destinationNumber",
    "messageBody",
    "inboundMessageId",
    "messageKeyword",
]
SNS_FIELDS = ["Type", "MessageId", "TopicArn", "Message", "Timestamp", "UnsubscribeUrl"]


@st.composite
def records(draw: st.DrawFn) -> Any:
    record = sms_record(draw(odd_text), message_id=str(draw(st.uuids())))
    mutation = draw(
        st.sampled_from(
            ["none", "body", "drop_payload", "retype_payload", "drop_sns", "retype_sns", "message", "whole"]
        )
    )
    payload = json.loads(record["Sns"]["Message"])
    if mutation == "drop_payload":
        payload.pop(draw(st.sampled_from(PAYLOAD_FIELDS)), None)
    elif mutation == "retype_payload":
        payload[draw(st.sampled_from(PAYLOAD_FIELDS))] = draw(json_values)
    elif mutation == "drop_sns":
        record["Sns"].pop(draw(st.sampled_from(SNS_FIELDS)), None)
    elif mutation == "retype_sns":
        record["Sns"][draw(st.sampled_from(SNS_FIELDS))] = draw(json_values)
    elif mutation == "whole":
        return draw(json_values)
    if mutation in ("drop_payload", "retype_payload"):
        record["Sns"]["Message"] = json.dumps(payload)
    if mutation == "message":
        record["Sns"]["Message"] = draw(st.one_of(odd_text, json_values.map(json.dumps)))
    return record


events = st.one_of(
    st.lists(records(), min_size=1, max_size=3).map(lambda rs: {"Records": rs}),
    json_values.map(lambda v: {"Records": v} if not isinstance(v, list) else {"Records": None}),
    json_values,
)


def _queue_depth(queue_url: str) -> int:
    attrs = boto3.client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=events)
def test_hostile_events_never_raise_and_every_record_is_answered_or_parked(harness, event):
    depth_before = _queue_depth(harness.aws.queue_url)

    result = harness.invoke(copy.deepcopy(event))

    parked = _queue_depth(harness.aws.queue_url) - depth_before
    assert parked == result["quarantined"]
    records = event.get("Records") if isinstance(event, dict) else None
    if isinstance(records, list):
        assert result["processed"] + result["quarantined"] == len(records)
    else:
        assert result == {"processed": 0, "quarantined": 1, "turns": []}
