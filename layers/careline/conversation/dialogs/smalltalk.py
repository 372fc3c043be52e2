"""Greeting and goodbye."""

from __future__ import annotations

from careline.conversation.dialogs.turn import Turn


def greeting(turn: Turn) -> None:
    """Say hello and what Careline can do."""
    turn.reply("greeting")


def goodbye(turn: Turn) -> None:
    """Say goodbye; nothing is left pending."""
    turn.context.active_flow = None
    turn.context.flow_state.pop("offer", None)
    turn.reply("goodbye")
