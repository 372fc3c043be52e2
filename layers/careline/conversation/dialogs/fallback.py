"""Not understood: ask once to rephrase (with examples), then offer a person."""

from __future__ import annotations

from careline.conversation.dialogs.offers import NOT_UNDERSTOOD_OFFER, make_offer
from careline.conversation.dialogs.turn import Turn


def not_understood(turn: Turn) -> None:
    """Count a message Careline did not understand; the second in a row offers a person."""
    turn.context.failed_understandings += 1
    if turn.context.failed_understandings == 1:
        turn.reply("fallback_rephrase")
        return
    make_offer(turn, NOT_UNDERSTOOD_OFFER, "not_understood")
