"""`SmsMessenger`: sends one SMS through AWS End User Messaging (`pinpoint-sms-voice-v2`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from careline.messaging.failures import classify
from careline.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_pinpoint_sms_voice_v2 import PinpointSMSVoiceV2Client

# Throttling is the one failure worth retrying in-line: "standard" mode retries throttles and
# transient errors with backoff, bounded so a turn cannot hang past its Lambda timeout.
SMS_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 4}, connect_timeout=3, read_timeout=5
)


class SmsMessenger:
    """The `Messenger` port over End User Messaging SendTextMessage.

    The client should be built with `SMS_CLIENT_CONFIG` (the composition root does).
    """

    def __init__(
        self,
        client: PinpointSMSVoiceV2Client,
        origination_identity: str,
        configuration_set: str | None = None,
        message_type: Literal["TRANSACTIONAL", "PROMOTIONAL"] = "TRANSACTIONAL",
    ) -> None:
        self._client = client
        self._origination_identity = origination_identity
        self._configuration_set = configuration_set
        self._message_type: Literal["TRANSACTIONAL", "PROMOTIONAL"] = message_type

    def send_sms(self, to_number: str, body: str) -> str:
        """Send `body` to `to_number` from the practice's identity; returns the provider MessageId.
        Raises `SendUnavailable`, `SendRejected` or `SendUncertain` (careline.errors)."""
        try:
            if self._configuration_set:
                response = self._client.send_text_message(
                    DestinationPhoneNumber=to_number,
                    OriginationIdentity=self._origination_identity,
                    MessageBody=body,
                    MessageType=self._message_type,
                    ConfigurationSetName=self._configuration_set,
                )
            else:
                response = self._client.send_text_message(
                    DestinationPhoneNumber=to_number,
                    OriginationIdentity=self._origination_identity,
                    MessageBody=body,
                    MessageType=self._message_type,
                )
        except (ClientError, BotoCoreError) as exc:
            raise classify(exc, "sms") from None
        message_id = response["MessageId"]
        logger.info("sms sent", extra={"message_id": message_id, "body_chars": len(body)})
        return message_id
