"""Hand-off to a person: the escalation request, a summary for the agent, and what happens next."""

from __future__ import annotations

from typing import Final, NamedTuple

from careline.conversation.dialogs.turn import Turn
from careline.conversation.model import Channel, EscalationReason, Queue, Urgency
from careline.identity import Stage, VerificationState
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
    "waitlist_join": "wants to be put on the waitlist for an earlier time",
    "waitlist_leave": "wants to be taken off the waitlist",
    "waitlist_offer": "said yes to an earlier time offered from the waitlist",
    "refill_request": "wants a prescription refill",
    "billing_question": "has a billing question",
    "insurance_question": "has an insurance question",
    "clinical_question": "has a clinical question (not answered by Careline)",
    "not_understood": "was not understood twice and accepted a person",
    "frustration": "is frustrated with the automated replies and needs a person",
}


def verification_status(turn: Turn) -> str:
    """Who the agent is talking to, as far as Careline knows: verified (as which patient id), in
    progress, locked, or not verified."""
    state = VerificationState.from_dict(turn.context.flow_state.get("verification"))
    if state.stage is Stage.VERIFIED and state.patient_id:
        return f"verified (EHR patient {state.patient_id})"
    if state.stage is Stage.LOCKED:
        return "locked after failed checks: verify before discussing anything"
    if state.stage in (Stage.AWAITING_DATE_OF_BIRTH, Stage.AWAITING_NAME_AND_DATE_OF_BIRTH):
        return "not verified (check in progress)"
    return "not verified"


def agent_summary(turn: Turn, wanted: str) -> str:
    """A summary written for the agent: what the patient wanted, what was done, whether they are
    verified, and the last messages."""
    handled = turn.context.flow_state.get("handled", [])
    done = ", ".join(str(h).replace("_", " ") for h in handled) if handled else "nothing yet"
    lines = [f"{'Patient' if m['from'] == 'patient' else 'Careline'}: {m['text']}" for m in turn.transcript()]
    return (
        f"Patient {wanted}. Channel: {turn.inbound.channel.value}. Careline already handled: {done}.\n"
        f"Identity: {verification_status(turn)}.\n"
        "Last messages:\n" + "\n".join(lines)
    )


class HandoffWords(NamedTuple):
    """The catalog keys a hand-off speaks: while the queue is staffed ({queue_label}, {minutes}),
    and when it is not ({queue_label}, {next_open})."""

    in_hours: str
    after_hours: str


STANDARD: Final = HandoffWords("handoff_in_hours", "handoff_after_hours")
# a clinical question: Careline never answers one, and says why a nurse will
CLINICAL: Final = HandoffWords("clinical_in_hours", "clinical_after_hours")
# the patient is frustrated with Careline: an apology, and a person
FRUSTRATED: Final = HandoffWords("frustration_in_hours", "frustration_after_hours")


def hand_off(
    turn: Turn,
    reason: EscalationReason,
    queue: Queue,
    wanted_intent: str,
    *,
    words: HandoffWords = STANDARD,
    urgency: Urgency = Urgency.ROUTINE,
) -> None:
    """Escalate to `queue` and tell the patient who will answer, and when."""
    if turn.context.escalation_open and turn.inbound.channel is not Channel.VOICE:
        # one open request is enough; a second would only put the patient in the queue twice (a
        # caller is live on the line, though: their call is its own request, put through now)
        turn.reply("handoff_already_open")
        return
    wanted = WANTED.get(wanted_intent, "asked for help")
    turn.escalate(reason, urgency, queue, agent_summary(turn, wanted))
    queue_config = turn.config.queue(queue)
    schedule = queue_schedule(turn.config, queue)
    if schedule.is_open(turn.now):
        turn.reply(
            words.in_hours, queue_label=queue_config.label, minutes=str(queue_config.reply_within_minutes)
        )
        return
    opening = schedule.next_opening(turn.now)
    when = describe_opening(opening, turn.now, turn.config.tz) if opening else "as soon as we reopen"
    turn.reply(words.after_hours, queue_label=queue_config.label, next_open=when)


def clinical_question(turn: Turn) -> None:
    """A clinical question is never answered by Careline: straight to the nurse line."""
    hand_off(turn, EscalationReason.CLINICAL_QUESTION, Queue.NURSE, "clinical_question", words=CLINICAL)


def frustrated(turn: Turn) -> None:
    """The patient is fed up with Careline: apologize and bring in a person from the front desk."""
    hand_off(turn, EscalationReason.FRUSTRATION, Queue.FRONT_DESK, "frustration", words=FRUSTRATED)


def talk_to_person(turn: Turn) -> None:
    """The patient asked for a person: the front desk, routine."""
    hand_off(turn, EscalationReason.HUMAN_REQUESTED, Queue.FRONT_DESK, "speak_to_human")
