"""Answers to a waitlist offer: "yes" takes the freed time (the patient's visit moves into it), "no"
keeps their visit and their place on the list, "take me off the waitlist" leaves it.

The backfill job leaves the offer in `flow_state["waitlist_offer"]` (see
`careline.waitlist.backfill`); a text reply acts on it until the offered time starts, after the
hold too: the hold only decides when the next patient is asked, and who gets the time is decided
when a yes arrives. Careline's slot record is claimed first (`WaitlistStore.fill`, a conditional
write), then the EHR moves the visit (`Ehr.reschedule`, which refuses a slot someone else booked):
of two patients racing for one time, the first yes gets it and the second is told kindly that it
was just taken, and stays on the list. A claim is never made for a time the EHR no longer shows
free, and a patient is never told "gone" for a time the EHR gave them.

Like a reminder reply, no date of birth is asked: the patient answers the practice's own offer, sent
to the number they joined the list from, and the answer discloses nothing the offer did not. Read on
texts only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from careline.config import PracticeConfig
from careline.conversation.dialogs import appointments, reply_words, waitlist
from careline.conversation.dialogs import identity_gate as gate
from careline.conversation.dialogs.handoff import hand_off
from careline.conversation.dialogs.locations import short_names
from careline.conversation.dialogs.turn import Turn
from careline.conversation.model import Channel, EscalationReason, Queue
from careline.ehr.errors import EhrUnavailable, NotFound, SlotTaken
from careline.ehr.model import AppointmentRecord, FreeSlot, SlotQuery
from careline.observability import logger
from careline.ports import Ehr
from careline.reminders.text import visit_when

SCOPE_KEY: Final = "waitlist_offer"


class OfferReply(StrEnum):
    TAKE = "accepted"
    DECLINE = "declined"
    LEAVE = "leave"


_LEXICON: Final = reply_words.lexicon(
    {
        "take": (
            "yes, y, ya, yah, yeah, yea, yep, yup, yes please, ok, okay, k, sure, sure thing, "
            "absolutely, definitely, of course, please do, go ahead, do it, take it, ill take it, "
            "i will take it, well take it, i want it, want it, ill take that, i will take that, "
            "book it, book me, sign me up, that works, works for me, that works for me, perfect, "
            "great, sounds good, yes move it, yes move me, i can make it, i can do that, "
            "i can come, count me in"
        ),
        "decline": (
            "no, n, nope, nah, no thanks, no thank you, pass, ill pass, i will pass, cant, cannot, "
            "cant make it, cannot make it, can not make it, cant do that, cant do it, "
            "that doesnt work, doesnt work, does not work, not that one, not interested, "
            "no thats ok, no thats okay, keep mine, ill keep mine, keep my appointment, "
            "keep my visit, ill keep my appointment, not that time"
        ),
        "polite": ("thanks, thank you, thx, ty, good, im"),
    }
)


def read(text: str) -> OfferReply | None:
    """What an answer to a waitlist offer says, or None when it is not plainly an answer."""
    if waitlist.wants_off(text):
        return OfferReply.LEAVE
    strict = reply_words.meanings(text, _LEXICON)
    if strict is None:
        # a longer answer: "Yes please, I'd love that time!" takes it only when it opens with the
        # yes and nothing in it negates or questions it; a no anywhere declines (that costs nothing)
        loose = reply_words.loose_meanings(text, _LEXICON)
        said = set(loose.meanings - {"polite"})
        if said == {"decline"}:
            return OfferReply.DECLINE
        if said == {"take"} and loose.opens_with == "take" and not loose.negated and not loose.question:
            return OfferReply.TAKE
        return None
    said = strict - {"polite"}
    if said == {"take"}:
        return OfferReply.TAKE
    if said == {"decline"}:
        return OfferReply.DECLINE
    return None


@dataclass(frozen=True)
class OfferScope:
    """The freed time offered, as the backfill job left it on the conversation."""

    slot_key: str
    patient_id: str
    practitioner_id: str
    start: datetime
    appointment_id: str  # the visit that moves into the freed time
    offered_at: datetime
    zone: ZoneInfo

    @classmethod
    def from_state(cls, data: Any) -> OfferScope | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls(
                slot_key=str(data["slot_key"]),
                patient_id=str(data["patient_id"]),
                practitioner_id=str(data["practitioner_id"]),
                start=datetime.fromisoformat(data["start"]),
                appointment_id=str(data["appointment_id"]),
                offered_at=datetime.fromisoformat(data["offered_at"]),
                zone=ZoneInfo(str(data["zone"])),
            )
        except (KeyError, TypeError, ValueError, ZoneInfoNotFoundError):
            return None


def pending(turn: Turn) -> OfferScope | None:
    """The offer this message may answer: one whose time has not started (else it is dropped)."""
    return reply_words.pending_scope(turn, SCOPE_KEY, OfferScope.from_state, lambda s: s.start)


def drop(turn: Turn) -> None:
    turn.context.flow_state.pop(SCOPE_KEY, None)


def answer(turn: Turn, ports: appointments.Scheduling, scope: OfferScope, reply: OfferReply) -> None:
    """Act on the patient's answer to the offer. The offer is answered either way: its scope goes."""
    turn.intent = "waitlist_leave" if reply is OfferReply.LEAVE else f"waitlist_offer_{reply.value}"
    turn.context.failed_understandings = 0
    turn.note_handled(turn.intent)
    drop(turn)
    if reply is OfferReply.DECLINE:
        turn.record_event("waitlist_offer_declined")
        turn.reply("waitlist_offer_declined")
        return
    if reply is OfferReply.LEAVE:
        if ports.waitlist is None:
            waitlist.unavailable(turn, waitlist.LEAVE)
        else:
            waitlist.leave(turn, ports.waitlist, scope.patient_id)
        return
    try:
        _take(turn, ports, scope)
    except EhrUnavailable:
        gate.outage(turn, "waitlist_offer")


def _take(turn: Turn, ports: appointments.Scheduling, scope: OfferScope) -> None:
    current = appointments.held_visit(turn, ports, scope.patient_id, scope.appointment_id)
    if current is None:
        # the visit that was to move is gone (changed at the front desk): a person sorts it out
        hand_off(turn, EscalationReason.HUMAN_REQUESTED, Queue.FRONT_DESK, "waitlist_offer")
        return
    slot = _free_slot(ports, scope)
    if slot is None or (
        ports.waitlist is not None and not ports.waitlist.fill(scope.slot_key, scope.patient_id, turn.now)
    ):
        _gone(turn)
        return
    try:
        moved = ports.ehr.reschedule(current, slot)
    except (SlotTaken, NotFound):
        # the claim stands for a time that is not free any more: nobody else is offered it
        _gone(turn)
        return
    if ports.waitlist is not None:
        ports.waitlist.leave(scope.patient_id)
    line = _line(turn, ports, moved, scope)
    turn.reply("waitlist_offer_taken", appointment=line)
    summary = f"Took an earlier time from the waitlist by text: {line}."
    appointments.finished(
        turn,
        ports,
        scope.patient_id,
        "waitlist_offer_taken",
        moved,
        summary,
        previous_appointment_id=current.id,
    )
    appointments.report_change(turn, ports, lambda changes: changes.rescheduled(current, moved, turn.now))


def _free_slot(ports: appointments.Scheduling, scope: OfferScope) -> FreeSlot | None:
    """The offered time as the EHR holds it now, if it is still free."""
    query = SlotQuery(
        earliest=scope.start,
        latest=scope.start + timedelta(minutes=1),
        practitioner_id=scope.practitioner_id,
        limit=5,
    )
    return next(
        (
            s
            for s in ports.ehr.free_slots(query)
            if s.start == scope.start and s.practitioner_id == scope.practitioner_id
        ),
        None,
    )


def _gone(turn: Turn) -> None:
    turn.record_event("waitlist_offer_gone")
    turn.reply("waitlist_offer_gone")


def _line(turn: Turn, ports: appointments.Scheduling, visit: AppointmentRecord, scope: OfferScope) -> str:
    """The new visit as the offer named it: day and time, provider, office."""
    return slot_line(
        turn.config, ports.ehr, visit.practitioner_id, visit.start, visit.location_id, scope.zone
    )


def slot_line(
    config: PracticeConfig,
    ehr: Ehr,
    practitioner_id: str,
    start: datetime,
    location_id: str | None,
    zone: ZoneInfo,
) -> str:
    """A time as an offer's text names it ("Tue Jun 9 at 10am with Dr. Chen at Hawthorne"), for the
    offer the backfill sends and the answer to it alike. Without the EHR's names it says "our
    provider": the day and time still stand."""
    try:
        names = {p.id: p.name for p in ehr.practitioners()}
    except EhrUnavailable:
        logger.warning("practitioner names unavailable", extra={"practitioner_id": practitioner_id})
        names = {}
    name = names.get(practitioner_id)
    return config.catalog.render(
        "appointment_line",
        Channel.SMS,
        when=visit_when(start, zone),
        provider=appointments.short_name(name) if name else "our provider",
        location=short_names(config.locations).get(location_id or "", "our office"),
    )
