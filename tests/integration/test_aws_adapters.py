"""End User Messaging, EventBridge and Secrets Manager adapters against the real API shapes."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import ANY, Stubber
from careline.conversation.model import DomainEvent
from careline.errors import CarelineError, SendRejected, SendUnavailable, SendUncertain
from careline.events import EventBridgeBus, EventPublishError, RecordingEventBus
from careline.messaging import SMS_CLIENT_CONFIG, OutboxMessenger, SmsMessenger
from careline.store import HmacPartyKeys, InvalidPhoneNumberError

NOW = datetime(2026, 3, 2, 17, 4, 5, tzinfo=UTC)


def _sms_client():
    return boto3.client("pinpoint-sms-voice-v2", region_name="us-west-2", config=SMS_CLIENT_CONFIG)


def test_sms_messenger_sends_a_transactional_text_from_the_practice_identity(aws_credentials):
    client = _sms_client()
    messenger = SmsMessenger(client, "phone-0123456789abcdef", "careline-config-set")
    with Stubber(client) as stub:
        stub.add_response(
            "send_text_message",
            {"MessageId": "msg-42"},
            {
                "DestinationPhoneNumber": "+15035550188",
                "OriginationIdentity": "phone-0123456789abcdef",
                "MessageBody": "We are open until 5pm today.",
                "MessageType": "TRANSACTIONAL",
                "ConfigurationSetName": "careline-config-set",
            },
        )
        assert messenger.send_sms("+15035550188", "We are open until 5pm today.") == "msg-42"
        stub.assert_no_pending_responses()


def test_sms_messenger_surfaces_a_refusal_after_bounded_retries(aws_credentials):
    client = _sms_client()
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 4}
    with Stubber(client) as stub:
        stub.add_client_error("send_text_message", "ThrottlingException", http_status_code=429)
        with pytest.raises(SendUnavailable) as caught:
            SmsMessenger(client, "phone-0123456789abcdef").send_sms("+15035550188", "hi")
    assert caught.value.code == "ThrottlingException"  # retry-safe: it never went out


def test_sms_messenger_sorts_a_refusal_for_good_and_a_missing_answer(aws_credentials):
    from botocore.exceptions import ReadTimeoutError

    client = _sms_client()
    with Stubber(client) as stub:
        stub.add_client_error("send_text_message", "ValidationException", http_status_code=400)
        with pytest.raises(SendRejected):
            SmsMessenger(client, "phone-0123456789abcdef").send_sms("+15035550188", "hi")

    def no_answer(**kwargs: object) -> None:
        raise ReadTimeoutError(endpoint_url="https://sms-voice.us-west-2.amazonaws.com")

    client.send_text_message = no_answer  # type: ignore[method-assign]
    with pytest.raises(SendUncertain):
        SmsMessenger(client, "phone-0123456789abcdef").send_sms("+15035550188", "hi")


def test_outbox_records_what_would_have_been_sent(clock):
    outbox = OutboxMessenger(clock)
    first = outbox.send_sms("+15035550188", "one")
    outbox.send_sms("+15035550189", "two")

    assert [(m.to, m.body, m.at) for m in outbox.list()] == [
        ("+15035550188", "one", clock.now()),
        ("+15035550189", "two", clock.now()),
    ]
    assert outbox.list()[0].message_id == first
    outbox.clear()
    assert outbox.list() == []


def _events(n: int) -> list[DomainEvent]:
    return [DomainEvent(detail_type="careline.turn_completed", detail={"n": i}, at=NOW) for i in range(n)]


def test_event_bus_publishes_in_batches_of_ten(aws_credentials):
    client = boto3.client("events", region_name="us-west-2")
    with Stubber(client) as stub:
        for size in (10, 10, 5):
            stub.add_response(
                "put_events",
                {"FailedEntryCount": 0, "Entries": [{"EventId": "e"}] * size},
                {"Entries": [ANY] * size},
            )
        EventBridgeBus(client, "careline").publish(_events(25))
        stub.assert_no_pending_responses()


def test_event_bus_raises_when_eventbridge_drops_an_entry(aws_credentials):
    client = boto3.client("events", region_name="us-west-2")
    with Stubber(client) as stub:
        stub.add_response(
            "put_events",
            {"FailedEntryCount": 1, "Entries": [{"EventId": "e"}, {"ErrorCode": "InternalFailure"}]},
            {"Entries": [ANY, ANY]},
        )
        with pytest.raises(EventPublishError, match="InternalFailure"):
            EventBridgeBus(client, "careline").publish(_events(2))


def test_event_bus_entry_shape_reaches_eventbridge(aws):
    client = boto3.client("events")
    EventBridgeBus(client, aws.event_bus_name).publish(_events(1))  # moto validates the request shape
    recorder = RecordingEventBus()
    recorder.publish(_events(2))
    assert [e.detail for e in recorder.list()] == [{"n": 0}, {"n": 1}]


def test_party_id_is_the_same_for_every_spelling_of_one_number(aws):
    keys = HmacPartyKeys(aws.hash_secret_arn)
    ids = {keys.party_for_phone(p) for p in ("+15035550188", "(503) 555-0188", "503.555.0188", "15035550188")}
    assert len(ids) == 1
    (party,) = ids
    assert len(party) == 64
    assert "5035550188" not in party
    assert keys.party_for_phone("+15035550189") != party


def test_party_id_depends_on_the_secret():
    a = HmacPartyKeys("a", fetch_secret=lambda _arn: "k" * 32)
    b = HmacPartyKeys("b", fetch_secret=lambda _arn: "j" * 32)
    assert a.party_for_phone("+15035550188") != b.party_for_phone("+15035550188")


def test_party_secret_is_fetched_once():
    calls: list[str] = []
    keys = HmacPartyKeys("arn", fetch_secret=lambda arn: calls.append(arn) or "k" * 32)
    keys.party_for_phone("+15035550188")
    keys.party_for_phone("+15035550189")
    assert calls == ["arn"]


def test_short_secret_and_bad_numbers_are_refused_without_echoing_them():
    with pytest.raises(CarelineError, match="at least 32 bytes"):
        HmacPartyKeys("arn", fetch_secret=lambda _arn: "short").party_for_phone("+15035550188")
    with pytest.raises(InvalidPhoneNumberError) as info:
        HmacPartyKeys("arn", fetch_secret=lambda _arn: "k" * 32).party_for_phone("Maria 555-01")
    assert "Maria" not in str(info.value)


def test_importing_the_handler_and_composition_creates_no_aws_client():
    probe = (
        "import botocore.session, sys\n"
        "create = botocore.session.Session.create_client\n"
        # the X-Ray recorder's own sampling client (local daemon) is Powertools Tracer's business
        "def refuse(self, name, *a, **k):\n"
        "    if name != 'xray': raise SystemExit(f'{name} client created at import time')\n"
        "    return create(self, name, *a, **k)\n"
        "botocore.session.Session.create_client = refuse\n"
        "sys.path.insert(0, 'functions/sms_inbound')\n"
        "import careline.composition, handler\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def test_settings_name_every_missing_variable():
    from careline.composition import Settings
    from careline.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        Settings.from_env({"CARELINE_MESSENGER": "outbox"})
    message = str(info.value)
    for name in (
        "CARELINE_CONFIG_PATH",
        "CARELINE_TABLE_NAME",
        "CARELINE_KMS_KEY_ARN",
        "CARELINE_QUARANTINE_QUEUE_URL",
    ):
        assert f"{name} is not set" in message


def test_sms_messenger_setting_requires_an_origination_identity():
    from careline.composition import Settings
    from careline.errors import ConfigError

    env = {
        "CARELINE_CONFIG_PATH": "config/practice.yaml",
        "CARELINE_TABLE_NAME": "careline",
        "CARELINE_KMS_KEY_ARN": "arn:aws:kms:us-west-2:123456789012:key/abc",
        "CARELINE_HASH_SECRET_ARN": "arn:aws:secretsmanager:us-west-2:123456789012:secret:x",
        "CARELINE_EVENT_BUS_NAME": "careline",
        "CARELINE_QUARANTINE_QUEUE_URL": "https://sqs.us-west-2.amazonaws.com/123456789012/q",
        "CARELINE_MESSENGER": "sms",
    }
    with pytest.raises(ConfigError, match="CARELINE_ORIGINATION_IDENTITY"):
        Settings.from_env(env)
    assert Settings.from_env({**env, "CARELINE_ORIGINATION_IDENTITY": "phone-1"}).messenger == "sms"
    assert json.loads(Settings.from_env({**env, "CARELINE_MESSENGER": "outbox"}).model_dump_json())
