"""Builders of SNS-wrapped inbound SMS events for the handler tests, from `events/sms_inbound.json`."""

from __future__ import annotations

import copy
import importlib.util
import json
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = json.loads((ROOT / "events" / "sms_inbound.json").read_text(encoding="utf-8"))
SAMPLE_STOP = json.loads((ROOT / "events" / "sms_inbound_keyword_stop.json").read_text(encoding="utf-8"))
PRACTICE_NUMBER = "+15035550100"


def sms_record(
    text: str, *, from_number: str = "+15035550188", message_id: str | None = None
) -> dict[str, Any]:
    record = copy.deepcopy(SAMPLE["Records"][0])
    payload = json.loads(record["Sns"]["Message"])
    payload.update(
        originationNumber=from_number,
        destinationNumber=PRACTICE_NUMBER,
        messageBody=text,
        inboundMessageId=message_id or str(uuid.uuid4()),
    )
    record["Sns"]["Message"] = json.dumps(payload)
    record["Sns"]["MessageId"] = str(uuid.uuid4())
    return record


def sms_event(text: str, **kwargs: Any) -> dict[str, Any]:
    return {"Records": [sms_record(text, **kwargs)]}


def load_handler() -> ModuleType:
    """functions/sms_inbound/handler.py, imported as Lambda would (by file, not as a package)."""
    path = ROOT / "functions" / "sms_inbound" / "handler.py"
    spec = importlib.util.spec_from_file_location("sms_inbound_handler", path)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
