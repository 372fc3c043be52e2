"""The identity gate in front of every appointment dialog: nothing about a patient (a name, a
visit time, a provider) is said until the sender is verified.

The verifier's state lives in `flow_state["verification"]` (encrypted by the store, like all of
flow_state) and outlives one flow: a patient verified for a booking is not asked again to check
their visits, until the verification idles out.
"""

from __future__ import annotations

from typing import Final

from careline.conversation.dialogs.handoff import WANTED, agent_summary
from careline.conversation.dialogs.turn import Turn
from careline.conversation.model import ConversationContext, EscalationReason, Queue, Urgency
from careline.identity import (
    AlreadyVerified,
    AskDateOfBirth,
    AskNameAndDob,
    Expecting,
    Failed,
    IdentityVerifier,
    Locked,
    NeedsPerson,
    NeedsPersonReason,
    Stage,
    VerificationState,
    VerificationStep,
    Verified,
    find_date_of_birth,
)

STATE_KEY: Final = "verification"
# no request is known when a locked number sends a date of birth on its own: the summary says
# "asked about an appointment"
_NO_REQUEST: Final = "verification_answer"


def _state(turn: Turn) -> VerificationState:
    return VerificationState.from_dict(turn.context.flow_state.get(STATE_KEY))


def _keep(turn: Turn, step: VerificationStep) -> None:
    turn.context.flow_state[STATE_KEY] = step.state.to_dict()
    # fraud signals: keyed hashes and counts only, safe to publish
    turn.events.extend(step.events)


def verified_in(context: ConversationContext, *, any_age: bool = False) -> str | None:
    """The patient `context`'s conversation was verified as (however long ago, with `any_age`;
    else only while the stage still reads verified). Not a check that it is still live: that is
    `verified_patient`, on the clock."""
    state = VerificationState.from_dict(context.flow_state.get(STATE_KEY))
    if state.stage is Stage.VERIFIED or (any_age and state.patient_id is not None):
        return state.patient_id
    return None


def verified_patient(turn: Turn, verifier: IdentityVerifier) -> str | None:
    """The verified patient's id for this conversation, refreshing the idle clock; else None."""
    state = verifier.refresh(_state(turn))
    turn.context.flow_state[STATE_KEY] = state.to_dict()
    return verifier.verified_patient_id(state)


def outage(turn: Turn, wanted_intent: str) -> None:
    """The EHR is not answering: say so kindly and hand the request to the front desk, so a
    person picks it up from the summary instead of it being lost."""
    wanted = WANTED.get(wanted_intent, "asked about an appointment")
    summary = agent_summary(turn, f"{wanted}; the scheduling system was not answering, please follow up")
    turn.escalate(EscalationReason.EHR_UNAVAILABLE, Urgency.ROUTINE, Queue.FRONT_DESK, summary)
    turn.reply("ehr_unavailable")


def _needs_person(turn: Turn, reason: NeedsPersonReason, wanted_intent: str) -> None:
    if reason is NeedsPersonReason.EHR_UNAVAILABLE:
        outage(turn, wanted_intent)
        return
    wanted = WANTED.get(wanted_intent, "asked about an appointment")
    why = reason.value.replace("_", " ")
    summary = agent_summary(turn, f"{wanted}; could not be verified by text ({why})")
    turn.escalate(EscalationReason.VERIFICATION_FAILED, Urgency.ROUTINE, Queue.FRONT_DESK, summary)
    turn.reply("verify_needs_person")


def _locked(turn: Turn, newly: bool, wanted_intent: str) -> None:
    if newly or not turn.context.escalation_open:
        wanted = WANTED.get(wanted_intent, "asked about an appointment")
        summary = agent_summary(turn, f"{wanted}; identity verification failed too many times (locked)")
        turn.escalate(EscalationReason.VERIFICATION_FAILED, Urgency.ROUTINE, Queue.FRONT_DESK, summary)
    turn.reply("verify_locked")


def _ask(turn: Turn, step: VerificationStep, wanted_intent: str, *, resuming: bool = False) -> str | None:
    """Reply to one verification outcome; the patient id once verified, else None. `resuming`: the
    first question on a new call that found a flow left open ("welcome back ...")."""
    outcome = step.outcome
    if isinstance(outcome, Verified):
        turn.record_event("identity_verified")
        return outcome.patient.id
    if isinstance(outcome, AlreadyVerified):
        return outcome.patient_id
    if isinstance(outcome, AskDateOfBirth):
        if outcome.reprompt:
            turn.reply("verify_dob_unreadable")
        else:
            turn.reply("resume_ask_dob" if resuming else "verify_ask_dob")
    elif isinstance(outcome, AskNameAndDob):
        if outcome.missing_name and outcome.missing_date_of_birth and not outcome.reprompt:
            turn.reply("resume_ask_name_dob" if resuming else "verify_ask_name_dob")
        elif outcome.missing_name and outcome.missing_date_of_birth:
            turn.reply("verify_ask_name_dob")
        elif outcome.missing_name:
            turn.reply("verify_need_name")
        else:
            turn.reply("verify_need_dob")
    elif isinstance(outcome, Failed):
        key = (
            "verify_failed_dob" if outcome.expecting is Expecting.DATE_OF_BIRTH else "verify_failed_name_dob"
        )
        turn.reply(key, attempts_left=str(outcome.attempts_left))
    elif isinstance(outcome, Locked):
        _locked(turn, outcome.newly_locked, wanted_intent)
    elif isinstance(outcome, NeedsPerson):
        _needs_person(turn, outcome.reason, wanted_intent)
    return None


def start(turn: Turn, verifier: IdentityVerifier, wanted_intent: str) -> str | None:
    """Begin the gate: the patient id if already verified, else ask (or hand off) and return None."""
    step = verifier.start(_state(turn), turn.inbound.from_number)
    _keep(turn, step)
    return _ask(turn, step, wanted_intent)


def answer(
    turn: Turn, verifier: IdentityVerifier, wanted_intent: str, *, resuming: bool = False
) -> str | None:
    """Check the patient's answer to the gate's question: the patient id once verified, else None."""
    step = verifier.answer(
        _state(turn), turn.inbound.from_number, turn.inbound.text, attempt_id=turn.inbound.message_id
    )
    _keep(turn, step)
    return _ask(turn, step, wanted_intent, resuming=resuming)


def new_session(turn: Turn, verifier: IdentityVerifier) -> None:
    """A new call: the conversation's verification does not carry into it (locks do)."""
    turn.context.flow_state[STATE_KEY] = verifier.new_session(_state(turn)).to_dict()


def closed(turn: Turn) -> bool:
    """True when the gate ended the flow: locked, or handed to a person."""
    return _state(turn).stage in (Stage.LOCKED, Stage.NEEDS_PERSON)


def answer_while_locked(turn: Turn, verifier: IdentityVerifier) -> bool:
    """A verification answer (a date of birth, a name and date) sent while the number is still
    locked gets the locked reply again, a person following up, rather than "say it another way".
    False, with nothing said, for any other message or once the lock has run out."""
    if _state(turn).stage is not Stage.LOCKED:
        return False
    if find_date_of_birth(turn.inbound.text, turn.now.astimezone(turn.config.tz).date()) is None:
        return False
    step = verifier.start(_state(turn), turn.inbound.from_number)
    if not isinstance(step.outcome, Locked):
        return False
    _keep(turn, step)
    _locked(turn, step.outcome.newly_locked, _NO_REQUEST)
    return True
