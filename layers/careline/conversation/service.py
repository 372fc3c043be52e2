"""`TurnService`: one inbound message, end to end, through the ports only.

load context -> engine -> save the turn (one write) -> publish events -> send replies. Replies are
sent last, so a failure before them leaves nothing half-said; idempotency on the inbound message id
(in the handler) keeps a redelivered message from being answered twice.

The saved context remembers the turn's inbound message id and what it had to deliver. If publishing
or sending fails after the save, the handler raises, Lambda redelivers, and this service finds the
message already decided: it delivers what was saved rather than deciding again (which would record
the message twice and, for a STOP, never send the acknowledgment, since an opted-out STOP is silent).
"""

from __future__ import annotations

from typing import Any

from careline.conversation.engine import ConversationEngine
from careline.conversation.model import Channel, ConversationContext, InboundMessage, TurnResult
from careline.errors import ConcurrentTurnError
from careline.ports import Clock, ContextStore, EventBus, Messenger, PartyKeys


class TurnService:
    """Runs the engine for one inbound message and carries out what it decided."""

    def __init__(
        self,
        engine: ConversationEngine,
        store: ContextStore,
        keys: PartyKeys,
        messenger: Messenger,
        events: EventBus,
        clock: Clock,
    ) -> None:
        self._engine = engine
        self._store = store
        self._keys = keys
        self._messenger = messenger
        self._events = events
        self._clock = clock

    def handle(self, inbound: InboundMessage) -> dict[str, Any]:
        """Handle one inbound message; returns a JSON-safe summary with no PHI in it."""
        party_id = self._keys.party_for_phone(inbound.from_number)
        result, redelivered = self._decide_and_save(party_id, inbound)
        if result.events:
            self._events.publish(result.events)
        provider_ids = [
            self._messenger.send_sms(reply.to_number, reply.text)
            for reply in result.replies
            # voice replies are spoken by the voice channel itself, not texted
            if reply.channel is not Channel.VOICE
        ]
        return {
            "party_id": party_id,
            "intent": result.intent,
            "replies_sent": len(provider_ids),
            "provider_message_ids": provider_ids,
            "escalation_ids": [e.escalation_id for e in result.escalations],
            "opted_out": result.context.opted_out,
            "redelivered": redelivered,
            "handled_at": self._clock.now().isoformat(),
        }

    def _decide_and_save(self, party_id: str, inbound: InboundMessage) -> tuple[TurnResult, bool]:
        """The turn's result and whether it had been decided and saved before (a redelivery)."""
        # A concurrent turn for the same party (two texts in quick succession) moved the version:
        # reload and decide again once, on the context that now includes the other turn.
        for attempt in range(2):
            context = self._store.load(party_id) or ConversationContext(
                party_id=party_id, phone=inbound.from_number
            )
            if context.last_inbound_id == inbound.message_id:
                saved = TurnResult(
                    context=context,
                    replies=list(context.pending_delivery),
                    timeline=[],
                    events=list(context.pending_events),
                )
                return saved, True
            result = self._engine.take_turn(inbound, context)
            result.context.last_inbound_id = inbound.message_id
            result.context.pending_delivery = list(result.replies)
            result.context.pending_events = list(result.events)
            try:
                self._store.save_turn(result.context, result.timeline, result.escalations)
            except ConcurrentTurnError:
                if attempt == 1:
                    raise
                continue
            return result, False
        raise AssertionError("unreachable")  # pragma: no cover
