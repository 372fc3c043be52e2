"""Ports: what the domain core needs from the outside world, as Protocols.

Adapters (DynamoDB, End User Messaging, EventBridge, local fakes) implement these; the composition
root (`careline.composition`) picks which. Nothing here imports AWS.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from careline.conversation.model import (
    ConversationContext,
    DomainEvent,
    EscalationRequest,
    TimelineEntry,
)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        ...


class PartyKeys(Protocol):
    def party_for_phone(self, phone: str) -> str:
        """A stable keyed hash of an E.164 number: safe for keys and indexes, useless to a reader."""
        ...


class ContextStore(Protocol):
    def load(self, party_id: str) -> ConversationContext | None:
        """The party's context, or None for someone Careline has not heard from."""
        ...

    def save_turn(
        self,
        context: ConversationContext,
        entries: Sequence[TimelineEntry],
        escalations: Sequence[EscalationRequest] = (),
    ) -> None:
        """Persist the context, timeline entries and escalations of one turn in one write.

        Raises `careline.errors.ConcurrentTurnError` if `context.version` moved since load.
        """
        ...

    def timeline(self, party_id: str, limit: int | None = None) -> list[TimelineEntry]:
        """The party's timeline, oldest first, in one query."""
        ...


class Messenger(Protocol):
    def send_sms(self, to_number: str, body: str) -> str:
        """Send one SMS from the practice's origination identity; returns the provider message id."""
        ...


class EventBus(Protocol):
    def publish(self, events: Sequence[DomainEvent]) -> None:
        """Publish domain events (no PHI in them)."""
        ...
