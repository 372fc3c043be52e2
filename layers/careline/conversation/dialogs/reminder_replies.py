"""Replies to a reminder text: "C" confirms, "R" reschedules, "X" cancels (after a YES), for exactly
the visit the reminder named.

The reminder job leaves the visit it texted about in `flow_state["reminder"]` (see
`careline.reminders.campaign`); a text reply acts on it until the visit starts. The whole message is
read as the reply (`reply_words`): "C", "yes I'll be there", "can I move it", "X", "I can't make
it". Anything else goes on to the ordinary dialogs. A whole-message "CANCEL" never gets here: it
is a carrier opt-out keyword, honoured before anything else; "cancel it" and "X" cancel the visit.

No date of birth is asked to confirm or to cancel. The patient is answering the practice's own
message, sent to the number on file for that visit, about that visit only: the reply names nothing
the reminder did not (the visit's day and time), and reaches nothing else of theirs. Rescheduling
is different: it shows new times and books one, so it goes through the identity gate like every
reschedule, already scoped to the reminder's visit. Replies are read on texts only: a caller id is
easy to fake, so on a call the same words are an ordinary request.

After the reply has acted (confirmed, cancelled, kept, or handed to the reschedule dialog) the
scope is gone: a second "C" later is an ordinary message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from careline.conversation.dialogs import appointments, reply_words
from careline.conversation.dialogs import identity_gate as gate
from careline.conversation.dialogs.turn import Turn
from careline.ehr.errors import EhrUnavailable, NotFound
from careline.ehr.model import AppointmentRecord
from careline.reminders.text import visit_when

SCOPE_KEY: Final = "reminder"
# set on the scope while "Cancel your visit ...? Reply YES or NO" waits for its answer
_AWAITING: Final = "awaiting"
_CANCEL_REASON: Final = "Cancelled by the patient by text, in reply to a reminder"


class ReminderReply(StrEnum):
    CONFIRM = "confirm"
    RESCHEDULE = "reschedule"
    CANCEL = "cancel"  # asks "cancel it?" first
    CANCEL_CONFIRMED = "cancel_confirmed"  # the YES to that question
    KEEP = "keep"  # the NO to it


_LEXICON: Final = reply_words.lexicon(
    {
        "affirm": (
            "yes, y, ya, yah, yeah, yea, yep, yup, yes please, yes maam, ok, okay, k, kk, sure, "
            "sure thing, absolutely, definitely, of course, correct, right, go ahead, please do, "
            "do it, sounds good, perfect, great"
        ),
        # thanks alone is politeness, not an answer: it goes with one, or on to the ordinary dialogs
        "polite": (
            "thanks, thank you, thx, ty, thanks for the reminder, thank you for the reminder, "
            "got it, good, im"
        ),
        "negate": ("no, n, nope, nah, no thanks, no thank you"),
        "confirm": (
            "c, cc, confirm, confirmed, confirming, conf, i confirm, confirm it, ill be there, "
            "i will be there, well be there, we will be there, will be there, be there, ill come, "
            "i will come, well come, i am coming, im coming, we are coming, were coming, "
            "still coming, coming, see you, see you then, see you there, see you soon, see ya, "
            "see u, see u then, c u, c u then, cu, cu then, see you later, will do, still on, "
            "still good, all good, looking forward to it"
        ),
        "reschedule": (
            "r, reschedule, resched, re schedule, rescheduling, move, move it, change, change it, "
            "change the time, change the day, change the date, different time, different day, "
            "another time, another day, a new time, new time, later, earlier, rebook, switch, "
            "push it back, push back"
        ),
        "cancel": (
            "x, cancel, cancel it, cancel that, canceling, cancelling, cxl, canx, cant make it, "
            "cannot make it, can not make it, wont make it, will not make it, not make it, "
            "cant come, cannot come, can not come, wont be there, will not be there, not be there, "
            "cant be there, cannot be there, cant go, not coming, not going to make it, "
            "unable to come, unable to make it, wont be able to make it, "
            "will not be able to make it, not able to make it, not able to come, cant do it, "
            "i have to cancel, need to cancel"
        ),
        "keep": (
            "keep, keep it, keep my appointment, keep my visit, dont cancel, do not cancel, "
            "dont cancel it, never mind, nevermind, nvm, leave it"
        ),
    }
)


def read(text: str, *, awaiting_cancel: bool = False) -> ReminderReply | None:
    """What a reply to a reminder asks for, or None when it is not plainly a reply.

    `awaiting_cancel`: "Cancel your visit ...? Reply YES or NO" was asked, so a yes cancels and a
    no keeps the visit; "C" or "R" still confirm or reschedule it.
    """
    said = reply_words.meanings(text, _LEXICON)
    if said is None:
        return _read_loosely(text, awaiting_cancel=awaiting_cancel)
    said = said - {"polite"}
    if not said:
        return None
    asks = said & {"confirm", "reschedule", "cancel", "keep"}
    if asks == {"confirm", "keep"}:
        asks = {"confirm"}  # "no, keep it, I'll be there"
    if len(asks) > 1:
        return None  # "confirm or reschedule?": not plainly one thing
    if asks:
        (ask,) = asks
        if ask == "cancel":
            return ReminderReply.CANCEL_CONFIRMED if awaiting_cancel else ReminderReply.CANCEL
        if ask == "keep":
            return ReminderReply.KEEP if awaiting_cancel else None
        return ReminderReply(ask)
    if said == {"affirm"}:
        return ReminderReply.CANCEL_CONFIRMED if awaiting_cancel else ReminderReply.CONFIRM
    if said == {"negate"} and awaiting_cancel:
        return ReminderReply.KEEP
    return None


def _read_loosely(text: str, *, awaiting_cancel: bool) -> ReminderReply | None:
    """A longer reply ("ugh, something came up at work, I can't make it"): a cancel is asked back
    (never carried out on this reading), a reschedule passes the identity gate, and a confirmation
    counts only when nothing in the message negates or questions it."""
    loose = reply_words.loose_meanings(text, _LEXICON)
    asks = loose.meanings & {"confirm", "reschedule", "cancel"}
    if asks == {"cancel"}:
        return ReminderReply.CANCEL
    if asks == {"reschedule"} and not loose.negated:
        return ReminderReply.RESCHEDULE
    if loose.negated or loose.question or awaiting_cancel:
        return None
    if asks == {"confirm"} or (not asks and loose.opens_with == "affirm"):
        return ReminderReply.CONFIRM
    return None


@dataclass(frozen=True)
class ReminderScope:
    """The visit a reminder texted about, as the reminder job left it on the conversation."""

    appointment_id: str
    patient_id: str
    starts_at: datetime
    zone: ZoneInfo
    sent_at: datetime
    awaiting_since: datetime | None  # "cancel it?" asked at this instant

    @property
    def asked_at(self) -> datetime:
        """When Careline last asked something this reply may answer."""
        return self.awaiting_since or self.sent_at

    @classmethod
    def from_state(cls, data: Any) -> ReminderScope | None:
        """The scope, or None when it is not one Careline can act on."""
        if not isinstance(data, dict):
            return None
        try:
            awaiting = data.get(_AWAITING)
            return cls(
                appointment_id=str(data["appointment_id"]),
                patient_id=str(data["patient_id"]),
                starts_at=datetime.fromisoformat(data["starts_at"]),
                zone=ZoneInfo(str(data["zone"])),
                sent_at=datetime.fromisoformat(data["sent_at"]),
                awaiting_since=datetime.fromisoformat(awaiting) if awaiting else None,
            )
        except (KeyError, TypeError, ValueError, ZoneInfoNotFoundError):
            return None


def pending(turn: Turn) -> ReminderScope | None:
    """The reminder this message may answer: one whose visit has not started. A scope that has
    run out (or cannot be read) is dropped."""
    return reply_words.pending_scope(turn, SCOPE_KEY, ReminderScope.from_state, lambda s: s.starts_at)


def drop(turn: Turn) -> None:
    turn.context.flow_state.pop(SCOPE_KEY, None)


def answer(turn: Turn, ports: appointments.Scheduling, scope: ReminderScope, reply: ReminderReply) -> None:
    """Act on the reply for the reminder's visit."""
    turn.context.failed_understandings = 0
    if reply is ReminderReply.RESCHEDULE:
        drop(turn)
        turn.intent = "appointment_reschedule"
        appointments.begin_reschedule_of(turn, ports, scope.appointment_id, scope.patient_id)
        return
    turn.intent = f"reminder_{reply.value}"
    turn.note_handled(turn.intent)
    try:
        if reply is ReminderReply.KEEP:
            drop(turn)
            turn.reply("reminder_cancel_kept", when=_when(scope.starts_at, scope))
            return
        visit = appointments.held_visit(turn, ports, scope.patient_id, scope.appointment_id)
        if visit is None:
            drop(turn)
            turn.reply("reminder_visit_changed")
            return
        if reply is ReminderReply.CONFIRM:
            _carry_out(turn, ports, scope, visit, confirm=True)
        elif reply is ReminderReply.CANCEL:
            turn.context.flow_state[SCOPE_KEY] = {
                **turn.context.flow_state[SCOPE_KEY],
                _AWAITING: turn.now.isoformat(),
            }
            turn.reply("reminder_cancel_confirm", when=_when(visit.start, scope))
        else:
            _carry_out(turn, ports, scope, visit, confirm=False)
    except EhrUnavailable:
        drop(turn)
        gate.outage(turn, "appointment_confirm" if reply is ReminderReply.CONFIRM else "appointment_cancel")


def _carry_out(
    turn: Turn,
    ports: appointments.Scheduling,
    scope: ReminderScope,
    visit: AppointmentRecord,
    *,
    confirm: bool,
) -> None:
    """Confirm or cancel the visit in the EHR, then tell the patient, record it and report it."""
    try:
        changed = ports.ehr.confirm(visit) if confirm else ports.ehr.cancel(visit, _CANCEL_REASON)
    except NotFound:
        drop(turn)
        turn.reply("reminder_visit_changed")
        return
    drop(turn)
    when = _when(visit.start, scope)
    done = "Confirmed" if confirm else "Cancelled"
    turn.reply("reminder_confirmed" if confirm else "reminder_cancelled", when=when)
    summary = f"{done} by text, in reply to a reminder: {when}."
    event = "appointment_confirmed" if confirm else "appointment_cancelled"
    appointments.finished(turn, ports, scope.patient_id, event, visit, summary)
    if confirm:
        appointments.report_change(turn, ports, lambda changes: changes.confirmed(changed, turn.now))
    else:
        appointments.report_change(turn, ports, lambda changes: changes.cancelled(visit, turn.now))


def _when(start: datetime, scope: ReminderScope) -> str:
    """The visit's day and time as the reminder wrote it, on the patient's clock."""
    return visit_when(start, scope.zone)
