"""`OutboxMessenger` and `OutboxEmail`: the local runtime's stand-ins for End User Messaging (which
has no emulator) and SES.

Nothing leaves the machine: each text and email is recorded so the patient page, the scenario
runner and tests can read what Careline would have sent.
"""

from __future__ import annotations

import builtins
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

from careline.ports import Clock

_Message = TypeVar("_Message")


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


class _Outbox(Generic[_Message]):
    """A thread-safe in-memory record of what would have been sent, oldest first."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock: Clock = clock or _UtcClock()
        self._lock = threading.Lock()
        self._messages: list[_Message] = []

    def _record(self, message: _Message) -> None:
        with self._lock:
            self._messages.append(message)

    def list(self) -> builtins.list[_Message]:
        """Every recorded message, oldest first (a copy: safe to keep while others send)."""
        with self._lock:
            return list(self._messages)

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._messages)


class OutboxMessenger(_Outbox[OutboxMessage]):
    """A thread-safe in-memory outbox implementing the `Messenger` port."""

    def send_sms(self, to_number: str, body: str) -> str:
        """Record the message and return a fresh message id, as the real provider would."""
        message = OutboxMessage(to=to_number, body=body, at=self._clock.now(), message_id=str(uuid.uuid4()))
        self._record(message)
        return message.message_id


@dataclass(frozen=True)
class OutboxEmailMessage:
    """One email Careline would have sent."""

    to: str
    subject: str
    body: str
    at: datetime
    message_id: str


class OutboxEmail(_Outbox[OutboxEmailMessage]):
    """A thread-safe in-memory outbox implementing the `EmailSender` port (the local runtime's
    stand-in for SES)."""

    def send_email(self, to_address: str, subject: str, body: str) -> str:
        """Record the email and return a fresh message id, as SES would."""
        message = OutboxEmailMessage(
            to=to_address, subject=subject, body=body, at=self._clock.now(), message_id=str(uuid.uuid4())
        )
        self._record(message)
        return message.message_id
