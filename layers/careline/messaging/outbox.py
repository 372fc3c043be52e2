"""`OutboxMessenger`: the local runtime's stand-in for End User Messaging (which has no emulator).

Nothing leaves the machine: each message is recorded so the patient page, the scenario runner and
tests can read what Careline would have sent.
"""

from __future__ import annotations

import builtins
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from careline.ports import Clock


@dataclass(frozen=True)
class OutboxMessage:
    """One SMS Careline would have sent."""

    to: str
    body: str
    at: datetime
    message_id: str


class _UtcClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class OutboxMessenger:
    """A thread-safe in-memory outbox implementing the `Messenger` port."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock: Clock = clock or _UtcClock()
        self._lock = threading.Lock()
        self._messages: list[OutboxMessage] = []

    def send_sms(self, to_number: str, body: str) -> str:
        """Record the message and return a fresh message id, as the real provider would."""
        message = OutboxMessage(to=to_number, body=body, at=self._clock.now(), message_id=str(uuid.uuid4()))
        with self._lock:
            self._messages.append(message)
        return message.message_id

    def list(self) -> builtins.list[OutboxMessage]:
        """Every recorded message, oldest first (a copy: safe to keep while others send)."""
        with self._lock:
            return list(self._messages)

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._messages)
