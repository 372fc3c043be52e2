"""Real-shaped inbound SMS events for the local runtime and the scenario runner.

Each event is the repository's sample (`events/sms_inbound.json`: SNS wrapping an End User
Messaging two-way SMS) with fresh ids, so the handler sees exactly what AWS would deliver and
idempotency keys never collide between messages.
"""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from careline_local.paths import REPO_ROOT

SAMPLE_EVENT = REPO_ROOT / "events" / "sms_inbound.json"


@cache
def _sample(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if not data.get("Records"):
        raise ValueError(f"{path} has no Records: it must be an SNS-wrapped inbound SMS event")
    return data


def _sns_timestamp(at: datetime) -> str:
    # SNS writes millisecond UTC timestamps with a Z suffix.
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def inbound_sms_event(
    *, from_number: str, to_number: str, text: str, at: datetime, sample: Path = SAMPLE_EVENT
) -> dict[str, Any]:
    """One SNS-wrapped inbound SMS from `from_number` to `to_number`, received at `at`."""
    event = copy.deepcopy(_sample(sample))
    record = event["Records"][0]
    event["Records"] = [record]
    sns = record["Sns"]
    message = json.loads(sns["Message"])
    message.update(
        {
            "originationNumber": from_number,
            "destinationNumber": to_number,
            "messageBody": text,
            "inboundMessageId": str(uuid.uuid4()),
        }
    )
    sns["Message"] = json.dumps(message)
    sns["MessageId"] = str(uuid.uuid4())
    sns["Timestamp"] = _sns_timestamp(at)
    return event
