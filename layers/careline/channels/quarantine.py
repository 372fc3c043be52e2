"""`SqsQuarantine`: where an inbound event Careline cannot read is parked, never dropped, never retried.

The raw record goes to the quarantine queue (the function's DLQ) with the reason as a message
attribute, so an operator can inspect and, once the parser is fixed, redrive it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# SQS takes at most 256 KiB per message; leave room for the attributes.
MAX_BODY_BYTES = 250_000
MAX_REASON_CHARS = 500


def quarantine_body(record: Any) -> tuple[str, bool]:
    """The record as SQS-safe JSON (ASCII escapes only), and whether it had to be truncated."""
    # ensure_ascii escapes every control and non-BMP character SQS would refuse.
    try:
        body = json.dumps(record, ensure_ascii=True, default=repr)
    except (ValueError, RecursionError):
        # Only a structure no JSON event can carry (cycles, absurd nesting) lands here.
        body = json.dumps({"unserializable_record": type(record).__name__})
    if len(body) <= MAX_BODY_BYTES:
        return body, False
    # A real inbound SMS is a few kilobytes; anything this large is hostile. Keep its head.
    return body[:MAX_BODY_BYTES], True


class SqsQuarantine:
    """Parks unreadable inbound records on an SQS queue with their reason."""

    def __init__(self, client: SQSClient, queue_url: str, source: str) -> None:
        self._client = client
        self._queue_url = queue_url
        self._source = source

    def park(self, record: Any, reason: str, *, source: str | None = None) -> str:
        """Send `record` with `reason` (which must hold no PHI); returns the SQS message id.
        `source` names the function that parked it, when not the default one."""
        body, truncated = quarantine_body(record)
        response = self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=body,
            MessageAttributes={
                "reason": {"DataType": "String", "StringValue": reason[:MAX_REASON_CHARS] or "unknown"},
                "source": {"DataType": "String", "StringValue": source or self._source},
                "truncated": {"DataType": "String", "StringValue": "true" if truncated else "false"},
            },
        )
        return response["MessageId"]


class RecordingQuarantine:
    """Keeps parked records in memory (tests and tools that run without a queue)."""

    def __init__(self) -> None:
        self.parked: list[tuple[Any, str]] = []

    def park(self, record: Any, reason: str, *, source: str | None = None) -> str:
        self.parked.append((record, reason))
        return str(len(self.parked))
