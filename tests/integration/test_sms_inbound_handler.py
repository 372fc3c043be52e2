"""The sms_inbound Lambda end to end: SNS event → parse → idempotent turn → moto table → outbox."""

from __future__ import annotations

import copy
import json

import boto3
import pytest
from careline.config import load_practice_config
from careline.errors import ConfigError
from sms_inbound_events import SAMPLE, SAMPLE_STOP, sms_event, sms_record


def test_same_sns_event_delivered_three_times_gets_one_reply(harness):
    event = copy.deepcopy(SAMPLE)
    results = [harness.invoke(copy.deepcopy(event)) for _ in range(3)]

    assert len(harness.replies()) == 1
    assert [r["processed"] for r in results] == [1, 1, 1]
    # the redeliveries return the first turn's saved summary instead of running a new turn
    assert results[1]["turns"] == results[0]["turns"] == results[2]["turns"]


def test_stop_then_another_message_gets_only_the_acknowledgment(harness):
    harness.invoke(copy.deepcopy(SAMPLE_STOP))
    harness.invoke(sms_event("what are your hours?"))
    harness.invoke(sms_event("hello??"))

    replies = harness.replies()
    assert len(replies) == 1
    assert "START" in replies[0], "the opt-out acknowledgment says how to opt back in"


def test_start_restores_service_after_stop(harness):
    harness.invoke(sms_event("STOP"))
    harness.invoke(sms_event("START"))
    harness.outbox.clear()

    harness.invoke(sms_event("what are your hours?"))
    assert len(harness.replies()) == 1


def test_help_names_the_practice_its_number_and_how_to_stop(harness):
    practice = load_practice_config(harness.handler.get_runtime().settings.config_path).practice
    harness.invoke(sms_event("HELP"))

    (reply,) = harness.replies()
    assert practice.name in reply
    digits = practice.phone[-4:]
    assert digits in reply
    assert "STOP" in reply


def test_unparseable_record_is_quarantined_with_its_reason_and_nothing_is_sent(harness):
    record = sms_record("hello")
    record["Sns"]["Message"] = "{not json"

    result = harness.invoke({"Records": [record]})

    assert result == {"processed": 0, "quarantined": 1, "turns": []}
    assert harness.replies() == []
    (parked,) = harness.quarantined()
    assert json.loads(parked["Body"]) == record, "the raw record is kept, nothing lost"
    assert parked["MessageAttributes"]["reason"]["StringValue"] == "Sns.Message is not JSON"


def test_event_without_records_is_quarantined_whole(harness):
    result = harness.invoke({"hello": "world"})

    assert result["quarantined"] == 1
    (parked,) = harness.quarantined()
    assert json.loads(parked["Body"]) == {"hello": "world"}


def test_good_record_is_answered_even_when_its_neighbour_is_bad(harness):
    bad = sms_record("hi")
    bad["Sns"]["Message"] = json.dumps({"originationNumber": "Maria Lopez", "messageBody": "hi"})

    result = harness.invoke({"Records": [bad, sms_record("what are your hours?")]})

    assert (result["processed"], result["quarantined"]) == (1, 1)
    assert len(harness.replies()) == 1
    reason = harness.quarantined()[0]["MessageAttributes"]["reason"]["StringValue"]
    assert "originationNumber" in reason
    assert "Maria" not in reason


def test_phi_never_reaches_the_table_keys_or_plaintext(harness):
    harness.invoke(sms_event("my name is Dana Whitlock, dob 08/23/1979", from_number="+15035550177"))

    raw = json.dumps(boto3.client("dynamodb").scan(TableName=harness.aws.table_name)["Items"])
    for fragment in ("5035550177", "Dana", "Whitlock", "1979"):
        assert fragment not in raw


def test_missing_environment_variable_is_named(harness, monkeypatch):
    from careline.composition import reset_runtime

    reset_runtime()
    monkeypatch.delenv("CARELINE_TABLE_NAME")
    with pytest.raises(ConfigError, match="CARELINE_TABLE_NAME is not set"):
        harness.invoke(sms_event("hi"))


def test_body_with_a_lone_surrogate_is_parked_not_retried(harness):
    result = harness.invoke(sms_event("hi \ud800 there"))

    assert (result["processed"], result["quarantined"]) == (0, 1)
    assert harness.replies() == []


def test_oversized_record_is_parked_truncated_with_a_flag(harness):
    result = harness.invoke(sms_event("y" * 300_000))

    assert result["quarantined"] == 1
    (parked,) = harness.quarantined()
    assert parked["MessageAttributes"]["truncated"]["StringValue"] == "true"
    assert "longer than" in parked["MessageAttributes"]["reason"]["StringValue"]


def test_a_stop_whose_acknowledgment_failed_is_acknowledged_once_on_redelivery(harness, monkeypatch):
    """Sending fails after the turn was saved: Lambda's retry delivers the saved ack, once.

    Deciding the turn again would find the number already opted out and stay silent, losing the
    acknowledgment, and would record the STOP twice.
    """
    event = copy.deepcopy(SAMPLE_STOP)
    send = harness.outbox.send_sms
    calls = {"n": 0}

    def fail_first(to_number, body):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("End User Messaging timed out")
        return send(to_number, body)

    monkeypatch.setattr(harness.outbox, "send_sms", fail_first)
    with pytest.raises(ConnectionError):
        harness.invoke(copy.deepcopy(event))
    assert harness.replies() == []

    retried = harness.invoke(copy.deepcopy(event))
    harness.invoke(copy.deepcopy(event))  # a third delivery finds the idempotency record

    replies = harness.replies()
    assert len(replies) == 1
    assert "START" in replies[0]
    assert retried["turns"][0]["redelivered"] is True
    inbound_entries = [
        item
        for item in boto3.client("dynamodb").scan(TableName=harness.aws.table_name)["Items"]
        if item["sk"]["S"].startswith("TL#") and item.get("kind", {}).get("S") == "inbound"
    ]
    assert len(inbound_entries) == 1
