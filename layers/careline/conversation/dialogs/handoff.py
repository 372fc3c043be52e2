"""Hand-off to a person: the escalation request, a summary for the agent, and what happens next."""

from __future__ import annotations

from typing import Final

from careline.conversation.dialogs.turn import Turn
from careline.conversation.model import Channel, EscalationReason, Queue, Urgency
from careline.practice.hours import describe_opening, queue_schedule

# What the patient wanted, in the agent's words, by intent.
WANTED: Final = {
    "speak_to_human": "asked to talk to a person",
    "appointment_book": "wants to book an appointment",
    "appointment_reschedule": "wants to reschedule an appointment",
    "appointment_cancel": "wants to cancel an appointment",
    "appointment_confirm": "wants to confirm an appointment",
    "appointment_status": "asked about an existing appointment",
    "appointment_for_family": "asked about a family member's appointment (verified as themselves only)",
    "refill_request": "wants a prescription refill",
    "billing_question": "has a billing question",
    "insurance_question": "has an insurance question",
    "clinical_question": "has a clinical question (not answered by Careline)",
    "not_understood": "was not understood twice and accepted a person",
}


def agent_summary(turn: Turn, wanted: str) -> str:
    """A summary written for the agent: what the patient wanted, what was done, last messages."""
    handled = turn.context.flow_state.get("handled", [])
    done = ", ".join(str(h).replace("_", " ") for h in handled) if handled else "nothing yet"
    lines = [f"{'Patient' if m['from'] == 'patient' else 'Careline'}: {m['text']}" for m in turn.transcript()]
    return (
        f"Patient {wanted}. Channel: {turn.inbound.channel.value}. Careline already handled: {done}.\n"
        "Last messages:\n" + "\n".join(lines)
    )


def hand_off(turn: Turn, reason: EscalationReason, queue: Queue, wanted_intent: str) -> None:
    """Escalate routinely to `queue` and tell the patient who will answer, and when."""
    if turn.context.escalation_open and turn.inbound.channel is not Channel.VOICE:
        # one open request is enough; a second would only put the patient in the queue twice (a
        # caller is live on the line, though: their call is its own request, put through now)
        turn.reply("handoff_already_open")
        return
    wanted = WANTED.get(wanted_intent, "asked for help")
    turn.escalate(reason, Urgency.ROUTINE, queue, agent_summary(turn, wanted))
    queue_config = turn.config.queue(queue)
    schedule = queue_schedule(turn.config, queue)
    if schedule.is_open(turn.now):
        turn.reply(
            "handoff_in_hours", queue_label=queue_config.label, minutes=str(queue_config.reply_within_minutes)
        )
        return
    opening = schedule.next_opening(turn.now)
    when = describe_opening(opening, turn.now, turn.config.tz) if opening else "as soon as we reopen"
    turn.reply("handoff_after_hours", queue_label=queue_config.label, next_open=when)


def talk_to_person(turn: Turn) -> None:
    """The patient asked for a person: the front desk, routine."""
    hand_off(turn, EscalationReason.HUMAN_REQUESTED, Queue.FRONT_DESK, "speak_to_human")
