"""`SesEmailSender`: sends one plain-text email through Amazon SES v2 (`sesv2` SendEmail).

Failures are sorted (`careline.messaging.failures`) into the kinds the caller acts on differently:
`EmailUnavailable` (throttled, over the sending quota, SES failing or unreachable) may succeed
later, so the caller retries it; `EmailRejected` (the address, the sender identity or the account
refused) will not, so retrying is pointless; `SendUncertain` (no answer after the request went out)
may have been sent, so a sender that must not send twice keeps it as sent. No message repeats the
address or the text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from careline.errors import SendError, SendRejected, SendUnavailable
from careline.messaging.failures import classify
from careline.observability import logger

# Throttles and transient errors are retried in-line, briefly (standard mode, with backoff); what
# is still failing after that is raised as `EmailUnavailable` for the caller's own retry.
EMAIL_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=3, read_timeout=5
)
CHARSET = "UTF-8"


class EmailUnavailable(SendUnavailable):
    """SES throttled the send, or failed or could not be reached: the caller may retry later."""


class EmailRejected(SendRejected):
    """SES refused the email for good (bad address, unverified sender, paused or suspended
    sending): retrying sends nothing."""


class SesClient(Protocol):
    """The one call of boto3's `sesv2` client this adapter makes (no stubs package needed)."""

    def send_email(self, **kwargs: Any) -> Mapping[str, Any]: ...


class SesEmailSender:
    """The `EmailSender` port over SES v2 SendEmail: simple content, plain text, UTF-8, from the
    practice's verified address, through the configuration set when one is given.

    The client should be built with `EMAIL_CLIENT_CONFIG` (the composition root does).
    """

    def __init__(self, client: SesClient, from_address: str, configuration_set: str | None = None) -> None:
        self._client = client
        self._from_address = from_address
        self._configuration_set = configuration_set

    def send_email(self, to_address: str, subject: str, body: str) -> str:
        """Send the email; returns SES's MessageId. Raises `EmailUnavailable` or `EmailRejected`."""
        request: dict[str, Any] = {
            "FromEmailAddress": self._from_address,
            "Destination": {"ToAddresses": [to_address]},
            "Content": {
                "Simple": {
                    "Subject": {"Data": subject, "Charset": CHARSET},
                    "Body": {"Text": {"Data": body, "Charset": CHARSET}},
                }
            },
        }
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        try:
            response = self._client.send_email(**request)
        except (ClientError, BotoCoreError) as exc:
            raise _email_error(classify(exc, "email")) from None
        message_id = str(response["MessageId"])
        logger.info("email sent", extra={"message_id": message_id, "body_chars": len(body)})
        return message_id


def _email_error(error: SendError) -> SendError:
    if isinstance(error, SendUnavailable):
        return EmailUnavailable(str(error), error.code)
    if isinstance(error, SendRejected):
        return EmailRejected(str(error), error.code)
    return error  # SendUncertain: SES may have accepted it
