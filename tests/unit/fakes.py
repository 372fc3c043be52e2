"""In-memory fakes of the ports, for unit tests of the domain core (no network, no AWS)."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from careline.conversation.model import (
    ConversationContext,
    DomainEvent,
    EscalationRequest,
    TimelineEntry,
)
from careline.errors import ConcurrentTurnError


@dataclass
class FixedClock:
    """A clock that stands still until a test moves it."""

    at: datetime

    def now(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> None:
        self.at += delta


class FakePartyKeys:
    def party_for_phone(self, phone: str) -> str:
        return "party-" + hashlib.sha256(phone.encode()).hexdigest()[:16]


@dataclass
class InMemoryContextStore:
    """Keeps contexts, timelines and escalations in dicts; enforces the version check like the real store.

    `conflicts` makes the next N `save_turn` calls fail as if another turn had saved first.
    """

    contexts: dict[str, ConversationContext] = field(default_factory=dict)
    timelines: dict[str, list[TimelineEntry]] = field(default_factory=dict)
    escalations: dict[str, list[EscalationRequest]] = field(default_factory=dict)
    conflicts: int = 0
    loads: int = 0
    saves: int = 0

    def load(self, party_id: str) -> ConversationContext | None:
        self.loads += 1
        stored = self.contexts.get(party_id)
        return copy.deepcopy(stored) if stored else None

    def save_turn(
        self,
        context: ConversationContext,
        entries: Sequence[TimelineEntry],
        escalations: Sequence[EscalationRequest] = (),
    ) -> None:
        if self.conflicts > 0:
            self.conflicts -= 1
            raise ConcurrentTurnError(context.party_id)
        current = self.contexts.get(context.party_id)
        if (current.version if current else 0) != context.version:
            raise ConcurrentTurnError(context.party_id)
        self.saves += 1
        self.contexts[context.party_id] = replace(copy.deepcopy(context), version=context.version + 1)
        self.timelines.setdefault(context.party_id, []).extend(entries)
        self.escalations.setdefault(context.party_id, []).extend(escalations)

    def timeline(self, party_id: str, limit: int | None = None) -> list[TimelineEntry]:
        entries = self.timelines.get(party_id, [])
        return entries[-limit:] if limit else list(entries)


@dataclass
class RecordingMessenger:
    sent: list[tuple[str, str]] = field(default_factory=list)

    def send_sms(self, to_number: str, body: str) -> str:
        self.sent.append((to_number, body))
        return f"msg-{len(self.sent)}"


@dataclass
class RecordingEventBus:
    published: list[DomainEvent] = field(default_factory=list)

    def publish(self, events: Sequence[DomainEvent]) -> None:
        self.published.extend(events)


ROOT = Path(__file__).resolve().parents[2]
SAMPLE_CONFIG = ROOT / "config" / "practice.yaml"
PORTLAND = ZoneInfo("America/Los_Angeles")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in the sample practice's timezone."""
    return datetime(year, month, day, hour, minute, tzinfo=PORTLAND)
