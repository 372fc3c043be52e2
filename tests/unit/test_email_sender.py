"""SesEmailSender against the real SES v2 API shape (botocore's Stubber checks every request against
the service model), and the local outbox that stands in for it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber
from careline.errors import CarelineError, SendError, SendUncertain
from careline.messaging import (
    EMAIL_CLIENT_CONFIG,
    EmailRejected,
    EmailUnavailable,
    OutboxEmail,
    OutboxEmailMessage,
    SesEmailSender,
)

FROM = "Riverside Family Medicine <reminders@riverside.example>"
TO = "dana.whitlock@example.org"
SUBJECT = "Your visit on Thursday, March 5 at 8:30 AM"
BODY = "Hi, this is Riverside Family Medicine. Reply C to confirm. Café hours: 8-5."
NOW = datetime(2026, 3, 2, 17, 4, 5, tzinfo=UTC)


def _request(**extra: object) -> dict[str, object]:
    return {
        "FromEmailAddress": FROM,
        "Destination": {"ToAddresses": [TO]},
        "Content": {
            "Simple": {
                "Subject": {"Data": SUBJECT, "Charset": "UTF-8"},
                "Body": {"Text": {"Data": BODY, "Charset": "UTF-8"}},
            }
        },
        **extra,
    }


@pytest.fixture
def ses(aws_credentials: None):
    client = boto3.client("sesv2", region_name="us-west-2", config=EMAIL_CLIENT_CONFIG)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_an_email_is_plain_utf8_text_from_the_practice_through_its_configuration_set(ses) -> None:
    client, stubber = ses
    stubber.add_response(
        "send_email", {"MessageId": "ses-1"}, _request(ConfigurationSetName="careline-email")
    )
    sender = SesEmailSender(client, FROM, "careline-email")
    assert sender.send_email(TO, SUBJECT, BODY) == "ses-1"


def test_without_a_configuration_set_none_is_named(ses) -> None:
    client, stubber = ses
    stubber.add_response("send_email", {"MessageId": "ses-2"}, _request())
    assert SesEmailSender(client, FROM).send_email(TO, SUBJECT, BODY) == "ses-2"


def test_the_client_retries_briefly_in_line() -> None:
    assert EMAIL_CLIENT_CONFIG.retries == {"mode": "standard", "total_max_attempts": 3}


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("TooManyRequestsException", 429),
        ("LimitExceededException", 400),
        ("ThrottlingException", 400),
        ("InternalFailure", 500),
        ("ServiceUnavailable", 503),
    ],
)
def test_throttling_and_service_failures_are_retryable(ses, code: str, status: int) -> None:
    client, stubber = ses
    stubber.add_client_error("send_email", code, "slow down", http_status_code=status)
    with pytest.raises(EmailUnavailable) as caught:
        SesEmailSender(client, FROM).send_email(TO, SUBJECT, BODY)
    assert caught.value.code == code
    assert isinstance(caught.value, CarelineError)
    assert TO not in str(caught.value)


@pytest.mark.parametrize(
    "code",
    [
        "MessageRejected",
        "AccountSuspendedException",
        "SendingPausedException",
        "MailFromDomainNotVerifiedException",
        "BadRequestException",
        "NotFoundException",
    ],
)
def test_a_refusal_is_not_retryable(ses, code: str) -> None:
    client, stubber = ses
    stubber.add_client_error("send_email", code, "no", http_status_code=400)
    with pytest.raises(EmailRejected) as caught:
        SesEmailSender(client, FROM).send_email(TO, SUBJECT, BODY)
    assert caught.value.code == code
    assert not isinstance(caught.value, EmailUnavailable)
    assert TO not in str(caught.value)


def test_an_unreachable_endpoint_is_retryable() -> None:
    class Unreachable:
        def send_email(self, **kwargs: object) -> dict[str, str]:
            raise EndpointConnectionError(endpoint_url="https://email.us-west-2.amazonaws.com")

    with pytest.raises(EmailUnavailable) as caught:
        SesEmailSender(Unreachable(), FROM).send_email(TO, SUBJECT, BODY)
    assert caught.value.code == "EndpointConnectionError"
    assert isinstance(caught.value, SendError)


class _Clock:
    def now(self) -> datetime:
        return NOW


def test_the_outbox_records_each_email_it_would_have_sent() -> None:
    outbox = OutboxEmail(_Clock())
    first = outbox.send_email(TO, SUBJECT, BODY)
    second = outbox.send_email("other@example.org", "Another", "Text")

    assert outbox.list() == [
        OutboxEmailMessage(to=TO, subject=SUBJECT, body=BODY, at=NOW, message_id=first),
        OutboxEmailMessage(to="other@example.org", subject="Another", body="Text", at=NOW, message_id=second),
    ]
    assert first != second
    assert len(outbox) == 2
    outbox.clear()
    assert outbox.list() == []


def test_the_outbox_is_safe_to_send_to_from_many_threads() -> None:
    outbox = OutboxEmail(_Clock())

    def send_many() -> None:
        for _ in range(200):
            outbox.send_email(TO, SUBJECT, BODY)

    threads = [threading.Thread(target=send_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outbox) == 1600
    assert len({m.message_id for m in outbox.list()}) == 1600


def test_no_answer_after_sending_is_uncertain_not_retryable() -> None:
    class TimingOut:
        def send_email(self, **kwargs: object) -> dict[str, str]:
            raise ReadTimeoutError(endpoint_url="https://email.us-west-2.amazonaws.com")

    with pytest.raises(SendUncertain) as caught:
        SesEmailSender(TimingOut(), "front@riverbend.example").send_email("pat@example.org", "s", "b")
    assert caught.value.code == "ReadTimeoutError"
