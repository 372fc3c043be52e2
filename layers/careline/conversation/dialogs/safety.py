"""The safety protocol: 911 guidance or the 988 Lifeline, and a person at once, before anything else."""

from __future__ import annotations

from careline.conversation.dialogs.handoff import agent_summary
from careline.conversation.dialogs.turn import Turn
from careline.conversation.model import EscalationReason, Queue, Urgency
from careline.safety import SafetyCategory, SafetyResult


def safety_protocol(turn: Turn, result: SafetyResult) -> None:
    """Reply with emergency or crisis guidance and escalate immediately (always a new request)."""
    turn.context.flow_state.pop("offer", None)
    turn.context.active_flow = None
    turn.record_event("safety_flag", category=result.category.value, rule=result.rule)
    if result.category is SafetyCategory.EMERGENCY:
        turn.intent = "safety_emergency"
        summary = agent_summary(turn, f"may have an emergency (screen rule: {result.rule}); told to call 911")
        if result.crisis_signal:
            summary += "; crisis signs too: given the 988 Lifeline as well"
        turn.escalate(EscalationReason.EMERGENCY, Urgency.EMERGENCY, Queue.NURSE, summary)
        # an attempt in progress ("I took all my pills, I want to die") is 911 first, and never
        # without 988: every message with a crisis sign gets the Lifeline
        key = "safety_emergency_and_crisis" if result.crisis_signal else "safety_emergency"
        turn.reply(key, purpose="safety")
    else:
        turn.intent = "safety_crisis"
        summary = agent_summary(
            turn, f"may be in crisis (screen rule: {result.rule}); given the 988 Lifeline"
        )
        turn.escalate(EscalationReason.CRISIS, Urgency.CRISIS, Queue.CRISIS, summary)
        turn.reply("safety_crisis", purpose="safety")
