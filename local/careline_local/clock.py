"""The local clock: starts at real now (or a scenario's start) and moves only when told to.

Scheduled jobs, TTL expiry and the engine's notion of "now" all read this one clock, so a developer
can jump to a holiday or past a retention window without waiting.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime, timedelta

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class DurationError(ValueError):
    """A duration is not `<number><s|m|h|d>`."""


def parse_duration(text: str) -> timedelta:
    """`90s`, `15m`, `2h`, `1.5d` -> timedelta. Raises DurationError on anything else."""
    match = _DURATION.match(str(text))
    if not match:
        raise DurationError(f"bad duration {text!r}: use a number and a unit s, m, h or d (e.g. 2h)")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant with an explicit offset (naive times are ambiguous, so refused)."""
    try:
        value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"bad time {text!r}: use ISO 8601 with an offset, e.g. 2026-12-25T08:30:00-08:00"
        ) from None
    if value.tzinfo is None:
        raise ValueError(f"bad time {text!r}: give an offset (e.g. -08:00 or Z)")
    return value


class LocalClock:
    """A settable, advanceable `careline.ports.Clock`; thread-safe for the threaded gateway.

    A ticking clock keeps moving with real time from wherever it was set (the interactive runtime);
    a frozen one stands still between explicit moves, so a scenario's times are exact.
    """

    def __init__(self, start: datetime | None = None, *, ticking: bool = False) -> None:
        self._lock = threading.Lock()
        self._ticking = ticking
        self._set_at = time.monotonic()
        self._now = self._utc(start or datetime.now(UTC))

    @staticmethod
    def _utc(value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("the local clock takes timezone-aware datetimes only")
        return value.astimezone(UTC)

    def _current(self) -> datetime:
        if not self._ticking:
            return self._now
        return self._now + timedelta(seconds=time.monotonic() - self._set_at)

    def now(self) -> datetime:
        with self._lock:
            return self._current()

    def set(self, value: datetime) -> datetime:
        with self._lock:
            self._now = self._utc(value)
            self._set_at = time.monotonic()
            return self._now

    def advance(self, by: timedelta) -> datetime:
        if by < timedelta(0):
            raise ValueError("the local clock only moves forward")
        with self._lock:
            self._now = self._current() + by
            self._set_at = time.monotonic()
            return self._now
