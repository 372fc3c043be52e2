"""`EventBus` adapters: `EventBridgeBus` (PutEvents) and `RecordingEventBus` (local runtime, tests)."""

from __future__ import annotations

import builtins
import json
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from careline.conversation.model import DomainEvent
from careline.errors import CarelineError
from careline.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

EVENT_SOURCE = "careline"
# PutEvents takes at most 10 entries per call.
_BATCH = 10


class EventPublishError(CarelineError):
    """EventBridge refused some entries; raised so the turn is retried rather than silently lossy."""


class EventBridgeBus:
    """The `EventBus` port over EventBridge PutEvents: source `careline`, detail-type from the event."""

    def __init__(self, client: EventBridgeClient, bus_name: str, source: str = EVENT_SOURCE) -> None:
        self._client = client
        self._bus_name = bus_name
        self._source = source

    def publish(self, events: Sequence[DomainEvent]) -> None:
        """Publish in batches of 10; raises `EventPublishError` if EventBridge failed any entry."""
        for start in range(0, len(events), _BATCH):
            batch = events[start : start + _BATCH]
            entries: list[PutEventsRequestEntryTypeDef] = [
                {
                    "Source": self._source,
                    "DetailType": event.detail_type,
                    "Detail": json.dumps(event.detail, default=str),
                    "EventBusName": self._bus_name,
                    "Time": event.at,
                }
                for event in batch
            ]
            response = self._client.put_events(Entries=entries)
            failed = response.get("FailedEntryCount", 0)
            if failed:
                codes = sorted({e["ErrorCode"] for e in response["Entries"] if "ErrorCode" in e})
                logger.error("event publish failed", extra={"failed": failed, "error_codes": codes})
                raise EventPublishError(f"EventBridge failed {failed} of {len(batch)} events: {codes}")
        if events:
            logger.debug("events published", extra={"count": len(events)})


class RecordingEventBus:
    """Keeps published events in memory (thread-safe) for the local runtime and tests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[DomainEvent] = []

    def publish(self, events: Sequence[DomainEvent]) -> None:
        with self._lock:
            self._events.extend(events)

    def list(self) -> builtins.list[DomainEvent]:
        with self._lock:
            return list(self._events)

    def clear(self) -> None:
        with self._lock:
            self._events.clear()
