"""Parse one SNS record carrying an AWS End User Messaging inbound SMS into an `InboundMessage`.

The SNS record is validated with the Powertools parser model; its `Message` is the JSON string End
User Messaging publishes (`originationNumber`, `destinationNumber`, `messageKeyword`,
`messageBody`, `inboundMessageId`, `previousPublishedMessageId`). Anything else raises
`MalformedEventError` whose reason names fields and error kinds only, never a submitted value.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC
from typing import Any

from aws_lambda_powertools.utilities.parser.models import SnsNotificationModel, SnsRecordModel
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from careline.config import E164_PATTERN
from careline.conversation.model import Channel, InboundMessage
from careline.errors import MalformedEventError

# A concatenated SMS tops out near 1,600 characters; anything far beyond is not a text message.
MAX_BODY_CHARS = 5_000
# Bounds the work spent on a hostile Message before JSON parsing starts.
MAX_MESSAGE_CHARS = 64_000


class InboundSmsPayload(BaseModel):
    """The JSON End User Messaging publishes to SNS for each inbound SMS."""

    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)

    originationNumber: str = Field(pattern=E164_PATTERN)
    destinationNumber: str = Field(pattern=E164_PATTERN)
    messageKeyword: str | None = Field(default=None, max_length=64)
    messageBody: str = Field(max_length=MAX_BODY_CHARS)
    inboundMessageId: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:/+=\-]+$")
    previousPublishedMessageId: str | None = Field(default=None, max_length=500)


_KNOWN_FIELDS = frozenset(
    {
        *SnsRecordModel.model_fields,
        *SnsNotificationModel.model_fields,
        *InboundSmsPayload.model_fields,
    }
)


def _safe_reason(where: str, exc: ValidationError) -> str:
    """Field paths and error kinds only: pydantic's own messages may quote the (PHI) input."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        loc = ".".join(str(p) if isinstance(p, int) or p in _KNOWN_FIELDS else "*" for p in error["loc"])
        parts.append(f"{loc or '(root)'}: {error['type']}")
    return f"{where}: " + "; ".join(sorted(set(parts))[:8])


def _validate_record(record: Any) -> SnsRecordModel:
    if not isinstance(record, dict):
        raise MalformedEventError(f"record is a {type(record).__name__}, not an object")
    if not isinstance(record.get("Sns"), dict):
        raise MalformedEventError("record has no Sns object")
    try:
        return SnsRecordModel.model_validate(record)
    except ValidationError as exc:
        raise MalformedEventError(_safe_reason("SNS record", exc)) from None
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        # the upstream model's pre-validator can trip over hostile shapes before pydantic does
        raise MalformedEventError(f"SNS record: {type(exc).__name__}") from None


def _payload(message: Any) -> InboundSmsPayload:
    if not isinstance(message, str):
        raise MalformedEventError("Sns.Message is not a string")
    if len(message) > MAX_MESSAGE_CHARS:
        raise MalformedEventError(f"Sns.Message longer than {MAX_MESSAGE_CHARS} characters")
    try:
        data = json.loads(message)
    except (ValueError, RecursionError):
        raise MalformedEventError("Sns.Message is not JSON") from None
    if not isinstance(data, dict):
        raise MalformedEventError("Sns.Message is not a JSON object")
    try:
        return InboundSmsPayload.model_validate(data)
    except ValidationError as exc:
        raise MalformedEventError(_safe_reason("inbound SMS", exc)) from None


def parse_inbound_sms(record: Any) -> InboundMessage:
    """One SNS record (as Lambda delivers it) → `InboundMessage(channel=sms)`.

    Raises `MalformedEventError` (never retried) for anything that is not an inbound SMS.
    """
    sns = _validate_record(record).Sns
    if sns.Timestamp.tzinfo is None:
        raise MalformedEventError("Sns.Timestamp has no timezone")
    payload = _payload(sns.Message)
    try:
        payload.messageBody.encode("utf-8")
    except UnicodeEncodeError:
        # JSON can carry lone surrogates; no phone sends them and nothing downstream can store them
        raise MalformedEventError("inbound SMS: messageBody is not valid Unicode") from None
    return InboundMessage(
        message_id=payload.inboundMessageId,
        channel=Channel.SMS,
        from_number=payload.originationNumber,
        to_number=payload.destinationNumber,
        text=payload.messageBody,
        received_at=sns.Timestamp.astimezone(UTC),
    )


def sns_records(event: Any) -> Iterable[Any]:
    """The `Records` of a Lambda SNS event; raises `MalformedEventError` if there is no such list."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        raise MalformedEventError("event has no Records list")
    return records
