"""Appointments by text or phone: book, reschedule, cancel, confirm and status, behind the identity
gate; joining (or leaving) the waitlist for an earlier time goes through the same gate.

One flow at a time lives in `flow_state["appointment"]` (encrypted by the store): the intent, the
step waiting for an answer, and what is known so far (visit type, provider, when, the slots
offered). Every step reads the patient's answer first; an answer that does not fit the step is
read as a new request instead ("actually cancel it", a question about hours, "talk to a person"),
so the patient never has to start over. Real slots only: every time offered came from the EHR
this turn, and a slot taken in between is apologised for and replaced. Every visit confirmed,
cancelled or moved here is reported to `VisitChanges` (the reminder outcomes and the waitlist's
freed times), however the patient asked.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Final

from careline.config import PracticeConfig
from careline.conversation.dialogs import identity_gate as gate
from careline.conversation.dialogs import practice_info, smalltalk, waitlist
from careline.conversation.dialogs.handoff import hand_off, talk_to_person
from careline.conversation.dialogs.locations import short_names
from careline.conversation.dialogs.offers import NOT_UNDERSTOOD_OFFER, Offer, make_offer
from careline.conversation.dialogs.turn import Turn
from careline.conversation.model import Channel, ConversationContext, EscalationReason, Queue
from careline.ehr.errors import EhrUnavailable, NotFound, SlotTaken
from careline.ehr.model import AppointmentRecord, AppointmentStatus, FreeSlot, Practitioner
from careline.identity import IdentityVerifier
from careline.nlu import Interpretation
from careline.nlu.classifier import MIN_CONFIDENCE
from careline.observability import logger
from careline.ports import Ehr
from careline.practice.hours import format_time
from careline.reminders.outcomes import VisitChanges
from careline.scheduling.choice import Ambiguous, NotAChoice, Picked, WantsOther, parse_choice, parse_yes_no
from careline.scheduling.offers import pick_offers
from careline.scheduling.when import (
    HORIZON_DAYS,
    TimeOfDay,
    TimePreference,
    TimeWindow,
    parse_time_preference,
)
from careline.waitlist.ports import WaitlistStore

FLOW: Final = "appointments"
STATE_KEY: Final = "appointment"
INTENTS: Final = frozenset(
    {
        "appointment_book",
        "appointment_reschedule",
        "appointment_cancel",
        "appointment_confirm",
        "appointment_status",
    }
)
# how many slots (or visits) one message lists: three fit one SMS segment
OFFER_COUNT: Final = 3
# how a call reads a listed slot's place: "the first is ..., the second is ..."
ORDINALS: Final[Mapping[int, str]] = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}
# a flow left open on one channel is offered again on a new call for this long
RESUME_WITHIN: Final = timedelta(hours=24)
# a step's question asked this many times without an answer it can use: offer a person instead
MAX_MISSES: Final = 2
NO_SLOTS_OFFER: Final = Offer("booking_no_slots", EscalationReason.HUMAN_REQUESTED, Queue.FRONT_DESK)

# Someone else's visit ("my son", "my daughter's appointment", "for my mom"): staff handle these
# in this version, since the verified patient is not the one the visit is for.
_DEPENDENT: Final = re.compile(
    r"\b(?:my|our)\s+(?:son|daughter|kid|kids|child|children|baby|boy|girl|mom|mother|mum|dad|father|"
    r"parent|parents|wife|husband|spouse|partner|grandma|grandmother|grandpa|grandfather|"
    r"grandson|granddaughter|brother|sister|stepson|stepdaughter)(?:'?s)?\b",
    re.IGNORECASE,
)
_STOP: Final = re.compile(
    r"\b(?:never ?mind|nvm|forget (?:it|that|about it)|stop here|leave it|not now|do not bother)\b",
    re.IGNORECASE,
)
_ANY_PROVIDER: Final = re.compile(
    r"\b(?:any(?:one|body| one| body| provider| doctor)?|whoever|no preference|does ?n[o']?t matter|"
    r"first available|either|whichever|all the same)\b",
    re.IGNORECASE,
)
# A caller asking to carry on by text: "text me the options", "can you send those to my phone".
_TEXT_ME: Final = re.compile(
    r"\b(?:text|txt|sms)(?:\s+(?:it|them|those|these|that|this|the\s+\w+))?\s+(?:over\s+)?(?:to\s+)?me\b"
    r"|\bsend\b.{0,30}\b(?:a\s+text|text|txt|sms|my\s+(?:cell|phone|mobile))\b"
    r"|\b(?:by|in\s+a|over|via)\s+(?:text|txt|sms|text\s+message)\b",
    re.IGNORECASE,
)
_SKIP: Final = re.compile(
    r"^\s*(?:skip|no|nah|nope|rather not|prefer not|n/?a|none|no reason)\W*$", re.IGNORECASE
)
_TITLES: Final = frozenset({"dr", "doctor", "md", "do", "np", "pa", "fnp", "c", "rn"})

# Everyday words for the kinds of visit a practice books, keyed by a word of the practice's own
# type name or id ("Follow-up visit" -> "follow"): the practice names its types, patients don't.
_TYPE_PHRASES: Final[Mapping[str, tuple[str, ...]]] = {
    "follow": ("follow up", "followup", "follow-up", "recheck", "check back", "go over my results"),
    "physical": ("physical", "annual", "yearly", "checkup", "check up", "check-up", "wellness", "preventive"),
    "sick": (
        "sick",
        "ill",
        "fever",
        "cough",
        "cold",
        "flu",
        "sore throat",
        "not feeling well",
        "feeling bad",
        "same day",
        "same-day",
        "infection",
        "rash",
        "earache",
    ),
    "new": ("new patient", "first visit", "first time", "never been", "establish care"),
    "child": ("well child", "well-child", "well baby", "baby checkup", "kid checkup", "child checkup"),
}


@dataclass(frozen=True)
class Scheduling:
    """The ports the appointment dialogs call: the EHR and identity verification, where a verified
    patient's flow left open on another number is (see `conversation.patient_flows`), where visit
    changes are reported (`changes`) and the waitlist (`waitlist`), each optional."""

    ehr: Ehr
    verifier: IdentityVerifier
    elsewhere: Callable[[str], ConversationContext | None] | None = None
    changes: VisitChanges | None = None
    waitlist: WaitlistStore | None = None


Flow = dict[str, Any]
_Keep = Callable[[FreeSlot], bool]


# --- entry points --------------------------------------------------------------------------------


def in_flow(context: ConversationContext) -> bool:
    """True while an appointment flow waits for the patient's answer."""
    return context.active_flow == FLOW and STATE_KEY in context.flow_state


def stop(context: ConversationContext) -> None:
    """End any appointment flow (a person is taking over)."""
    if context.active_flow == FLOW:
        context.active_flow = None
    context.flow_state.pop(STATE_KEY, None)


def flow_patient(context: ConversationContext) -> str | None:
    """The verified patient whose appointment flow `context` holds open, if any."""
    if not in_flow(context):
        return None
    return gate.verified_in(context)


def begin(turn: Turn, ports: Scheduling, intent: str) -> None:
    """A new appointment request: verify first, then the dialog for `intent`."""
    _begin(
        turn,
        ports,
        {
            "intent": intent,
            "request": turn.inbound.text,
            "step": "verify",
            "misses": 0,
            "dependent": bool(_DEPENDENT.search(turn.inbound.text)),
        },
    )


def begin_reschedule_of(turn: Turn, ports: Scheduling, appointment_id: str, patient_id: str) -> None:
    """Reschedule one known visit (a reminder's "R"): verify first, as every reschedule, then
    straight to new times for that visit, with no "which visit?". Should the verified patient not
    hold that visit any more (moved, cancelled, or a family member's on a shared number), the
    ordinary reschedule dialog lists what they do hold."""
    _begin(
        turn,
        ports,
        {
            "intent": "appointment_reschedule",
            "request": turn.inbound.text,
            "step": "verify",
            "misses": 0,
            "dependent": False,
            "scoped": {"appointment_id": appointment_id, "patient_id": patient_id},
        },
    )


def _begin(turn: Turn, ports: Scheduling, flow: Flow) -> None:
    turn.context.flow_state.pop("offer", None)
    turn.context.active_flow = FLOW
    turn.context.flow_state[STATE_KEY] = flow
    try:
        patient = gate.start(turn, ports.verifier, flow["intent"])
        if patient is None:
            if gate.closed(turn):
                _end(turn)
            return
        _verified(turn, ports, flow, patient)
    except EhrUnavailable:
        _outage(turn, flow)


def answer_while_locked(turn: Turn, ports: Scheduling) -> bool:
    """A date of birth sent after verification locked, with no flow waiting for it: the locked
    reply again (a person follows up). True when handled."""
    if not gate.answer_while_locked(turn, ports.verifier):
        return False
    turn.intent = "verification_locked"
    turn.context.failed_understandings = 0
    return True


def call_started(turn: Turn, ports: Scheduling, last_activity: datetime | None) -> None:
    """A new phone call from this number. Identity is proven again on every call (a caller id is
    easy to fake), so the verification from texts does not carry over. A flow left open on
    another channel, recently, waits behind that check and is offered back once the caller is
    verified ("I see you were moving your Thursday visit"); an old one is let go."""
    gate.new_session(turn, ports.verifier)
    if not in_flow(turn.context):
        return
    flow: Flow = turn.context.flow_state[STATE_KEY]
    if last_activity is None or turn.now - last_activity > RESUME_WITHIN:
        _end(turn)
        return
    if flow["step"] == "verify":
        return  # it had not got past the identity check: it simply carries on from there
    flow["resume_step"] = flow["step"]
    flow["step"] = "verify"
    flow["resume"] = True


def proceed(turn: Turn, ports: Scheduling, interpretation: Interpretation) -> None:
    """The patient answered the flow's pending question (or said something else entirely)."""
    flow: Flow = turn.context.flow_state[STATE_KEY]
    turn.intent = flow["intent"]
    if _confident(interpretation, "speak_to_human"):
        # a person always wins, whatever the flow was waiting for
        turn.intent = "speak_to_human"
        _end(turn)
        talk_to_person(turn)
        return
    try:
        if flow["step"] == "verify":
            _verify_answer(turn, ports, flow, interpretation)
            return
        patient = gate.verified_patient(turn, ports.verifier)
        if patient is None:  # the verification idled out mid-flow: ask again, keep the request
            flow["step"] = "verify"
            patient = gate.start(turn, ports.verifier, flow["intent"])
            if patient is None:
                if gate.closed(turn):
                    _end(turn)
                return
        if _confident(interpretation, "practice_info"):
            # read before the step's own parser: "hours today?" names a day but picks no time
            turn.intent = "practice_info"
            practice_info.practice_info(turn, interpretation.entities)
            return
        _STEPS[flow["step"]](turn, ports, flow, patient, interpretation)
    except EhrUnavailable:
        _outage(turn, flow)


# --- verification ---------------------------------------------------------------------------------


def _verify_answer(turn: Turn, ports: Scheduling, flow: Flow, interpretation: Interpretation) -> None:
    if _confident(interpretation, "practice_info") and not any(ch.isdigit() for ch in turn.inbound.text):
        # a question about the practice needs no identity: answer it, keep waiting for the answer
        turn.intent = "practice_info"
        practice_info.practice_info(turn, interpretation.entities)
        return
    patient = gate.answer(turn, ports.verifier, flow["intent"], resuming=bool(flow.get("resume")))
    if patient is None:
        if gate.closed(turn):
            _end(turn)
        return
    if flow.pop("resume", False):
        _offer_to_resume(turn, ports, flow, patient)
        return
    if _found_elsewhere(turn, ports, flow, patient):
        return
    _verified(turn, ports, flow, patient)


def _verified(turn: Turn, ports: Scheduling, flow: Flow, patient: str) -> None:
    """Verified: carry on with the request the patient made before the gate, without asking again."""
    if flow["dependent"]:
        _end(turn)
        hand_off(turn, EscalationReason.HUMAN_REQUESTED, Queue.FRONT_DESK, "appointment_for_family")
        return
    intent = flow["intent"]
    if intent == "appointment_book":
        _book_from(turn, ports, flow, flow["request"])
    elif intent in ("appointment_reschedule", "appointment_cancel"):
        if not _scoped_visit(turn, ports, flow, patient):
            _find_existing(turn, ports, flow, patient)
    elif intent == "appointment_confirm":
        _confirm_next(turn, ports, patient)
    elif intent in waitlist.FLOW_INTENTS:
        _waitlist(turn, ports, flow, patient)
    else:
        _status(turn, ports, patient)


# --- book -----------------------------------------------------------------------------------------


def _book_from(turn: Turn, ports: Scheduling, flow: Flow, text: str) -> None:
    """Take what the request already says (type, provider, when), then ask for what is missing."""
    if flow.get("type") is None:
        flow["type"] = appointment_type_for(turn.config, text)
    if flow.get("provider") is None:
        flow["provider"] = _named_provider(text, _practitioners(ports, flow))
        if flow["provider"] is not None:
            flow["provider_asked"] = True
    if flow.get("when") is None and _preference(turn, text) is not None:
        flow["when"] = text
    _next_question(turn, ports, flow)


def _next_question(turn: Turn, ports: Scheduling, flow: Flow) -> None:
    flow["misses"] = 0
    if flow.get("type") is None and not flow.get("type_asked"):
        flow["type_asked"] = True
        flow["step"] = "type"
        turn.reply("booking_ask_type")
        return
    if flow.get("type") is None:
        flow["type"] = default_appointment_type(turn.config)
    providers = _practitioners(ports, flow)
    if flow.get("provider") is None and not flow.get("provider_asked") and len(providers) > 1:
        flow["provider_asked"] = True
        flow["step"] = "provider"
        turn.reply("booking_ask_provider", providers=", ".join(short_name(p) for p in providers.values()))
        return
    if flow.get("when") is None:
        flow["step"] = "when"
        turn.reply("booking_ask_when")
        return
    _offer(turn, ports, flow)


def _type_step(turn: Turn, ports: Scheduling, flow: Flow, patient: str, interp: Interpretation) -> None:
    found = appointment_type_for(turn.config, turn.inbound.text)
    if found is None and _interrupted(turn, ports, flow, patient, interp):
        return
    # asked once: an answer we cannot place books the practice's usual visit, which staff can adjust
    flow["type"] = found or default_appointment_type(turn.config)
    _book_from(turn, ports, flow, turn.inbound.text)


def _provider_step(turn: Turn, ports: Scheduling, flow: Flow, patient: str, interp: Interpretation) -> None:
    text = turn.inbound.text
    named = _named_provider(text, _practitioners(ports, flow))
    if named is None and not _ANY_PROVIDER.search(text) and _interrupted(turn, ports, flow, patient, interp):
        return
    flow["provider"] = named
    if flow.get("when") is None and _preference(turn, text) is not None:
        flow["when"] = text
    _next_question(turn, ports, flow)


def _when_step(turn: Turn, ports: Scheduling, flow: Flow, patient: str, interp: Interpretation) -> None:
    if _preference(turn, turn.inbound.text) is not None:
        flow["when"] = turn.inbound.text
        flow["seen"] = []
        _offer(turn, ports, flow)
        return
    if not _interrupted(turn, ports, flow, patient, interp):
        _missed(turn, flow, "booking_ask_when")


def _pick_step(turn: Turn, ports: Scheduling, flow: Flow, patient: str, interp: Interpretation) -> None:
    if turn.inbound.channel is Channel.VOICE and _TEXT_ME.search(turn.inbound.text):
        _text_offers(turn, flow)
        return
    offered = [_slot(s) for s in flow["offered"]]
    providers = _practitioners(ports, flow)
    practitioners = [Practitioner(id=i, name=n) for i, n in providers.items()]
    choice = parse_choice(
        turn.inbound.text, offered, turn.config.tz, practitioners=practitioners, now=turn.now
    )
    if isinstance(choice, NotAChoice) and parse_yes_no(turn.inbound.text) is True:
        # "yes" / "that works" to the offers: it picks a time only when one was offered
        if len(offered) != 1:
            turn.reply("booking_pick_which")
            return
        choice = Picked(offered[0], 1)
    if isinstance(choice, Picked):
        flow["chosen"] = _slot_dict(choice.slot)
        flow["step"] = "confirm"
        flow["misses"] = 0
        turn.reply("booking_confirm_slot", appointment=_line(turn, flow, choice.slot))
    elif isinstance(choice, WantsOther):
        if choice.wish == "specific" and choice.preference is not None:
            flow["when"] = turn.inbound.text
        _offer(turn, ports, flow, wish=choice.wish)
    elif isinstance(choice, Ambiguous):
        _missed(turn, flow, "booking_pick_which")
    elif isinstance(choice, NotAChoice):
        if _preference(turn, turn.inbound.text) is not None:
            flow["when"] = turn.inbound.text
            _offer(turn, ports, flow, wish="specific")
        elif not _interrupted(turn, ports, flow, patient, interp):
            _missed(turn, flow, "booking_pick_which")


def _confirm_step(turn: Turn, ports: Scheduling, flow: Flow, patient: str, interp: Interpretation) -> None:
    answer = parse_yes_no(turn.inbound.text)
    if answer is True:
        _commit(turn, ports, flow, patient)
    elif answer is False:
        flow["when"] = None
        flow["step"] = "when"
        turn.reply("booking_not_booked")
    elif _preference(turn, turn.inbound.text) is not None:
        flow["when"] = turn.inbound.text
        _offer(turn, ports, flow, wish="specific")
    elif not _interrupted(turn, ports, flow, patient, interp):
        _missed(turn, flow, "appointment_step_unclear")


def _commit(turn: Turn, ports: Scheduling, flow: Flow, patient: str) -> None:
    """Book (or move) the chosen slot; a slot someone else just took gets fresh offers."""
    slot = _slot(flow["chosen"])
    old = _appointment(flow["appointment"]) if flow["intent"] == "appointment_reschedule" else None
    try:
        if old is not None:
            booked = ports.ehr.reschedule(old, slot)
        else:
            booked = ports.ehr.book(patient, slot, flow.get("type"))
    except SlotTaken:
        turn.record_event("appointment_slot_taken", slot_id=slot.id)
        # the other times just offered were not turned down: those still free may be offered again
        still_offered = {s["id"] for s in flow.get("offered", [])} - {slot.id}
        flow["seen"] = [i for i in flow.get("seen", []) if i not in still_offered]
        _offer(turn, ports, flow, wish="none", key="booking_slot_taken")
        return
    except NotFound:
        # the visit being moved is gone (changed at the front desk): a person sorts it out
        _end(turn)
        hand_off(turn, EscalationReason.HUMAN_REQUESTED, Queue.FRONT_DESK, flow["intent"])
        return
    line = _line(turn, flow, _as_slot(booked))
    _end(turn)
    if old is not None:
        old_line = _line(turn, flow, _as_slot(old))
        turn.reply("reschedule_done", appointment=line, old=old_line)
        summary = f"Rescheduled {_by(turn)} to {line}."
        _finished(turn, ports, patient, "appointment_rescheduled", booked, summary)
        report_change(turn, ports, lambda changes: changes.rescheduled(old, booked, turn.now))
    else:
        turn.reply("booking_done", appointment=line)
        _finished(turn, ports, patient, "appointment_booked", booked, f"Booked {_by(turn)}: {line}.")


# --- offers ---------------------------------------------------------------------------------------


def _offer(
    turn: Turn, ports: Scheduling, flow: Flow, *, wish: str | None = None, key: str = "booking_offers"
) -> None:
    """Offer up to three real free slots that fit what the patient asked, never one shown before
    (except the rest of the offers after the picked one was taken)."""
    offered = [_slot(s) for s in flow.get("offered", [])]
    seen = set(flow.get("seen", []))
    preference, keep = _wanted(turn, flow, offered, wish)
    slots = _search(ports, flow, preference, lambda s: s.id not in seen and keep(s))
    if not slots and wish in ("later_in_day", "earlier_in_day", "other_days"):
        # nothing fits the narrower wish: anything new in the same direction still helps
        preference, keep = _wanted(turn, flow, offered, "later" if wish != "earlier_in_day" else "earlier")
        slots = _search(ports, flow, preference, lambda s: s.id not in seen and keep(s))
    if not slots:
        soonest = _soonest(turn, turn.now)
        slots = _search(ports, flow, soonest, lambda s: s.id not in seen)
        key = "booking_slot_taken" if key == "booking_slot_taken" else "booking_offers_fallback"
    if not slots:
        _end(turn)
        make_offer(turn, NO_SLOTS_OFFER, flow["intent"])
        return
    flow["offered"] = [_slot_dict(s) for s in slots]
    flow["seen"] = [*seen, *(s.id for s in slots)]
    flow["step"] = "pick"
    flow["misses"] = 0
    lines = [_choice_line(turn, flow, number, slot) for number, slot in enumerate(slots, start=1)]
    turn.reply(key, slots=_join(turn, lines))


def _search(ports: Scheduling, flow: Flow, preference: TimePreference, keep: _Keep) -> list[FreeSlot]:
    query = preference.slot_query(practitioner_id=flow.get("provider"), appointment_type=flow.get("type"))
    return pick_offers([s for s in ports.ehr.free_slots(query) if keep(s)], preference, OFFER_COUNT)


def _wanted(
    turn: Turn, flow: Flow, offered: Sequence[FreeSlot], wish: str | None
) -> tuple[TimePreference, _Keep]:
    """The preference to search, and what else a slot must satisfy, for a wish about the offers."""
    tz = turn.config.tz
    stated = _preference(turn, flow.get("when") or "") or _soonest(turn, turn.now)
    if not offered or wish in (None, "none", "specific"):
        return stated, lambda s: True
    first, last = min(s.start for s in offered), max(s.start for s in offered)
    days = {s.start.astimezone(tz).date() for s in offered}
    if wish == "later":
        return _open_from(turn, last + timedelta(minutes=1)), lambda s: s.start > last
    if wish == "earlier":
        return _soonest(turn, turn.now), lambda s: s.start < first
    if wish == "later_in_day":
        after = max(s.start.astimezone(tz).time() for s in offered)
        return stated, lambda s: s.start.astimezone(tz).time() > after
    if wish == "earlier_in_day":
        before = min(s.start.astimezone(tz).time() for s in offered)
        return stated, lambda s: s.start.astimezone(tz).time() < before
    # other days: any day not already offered, from the stated wish first
    return _open_from(turn, turn.now), lambda s: s.start.astimezone(tz).date() not in days


def _open_from(turn: Turn, start: datetime) -> TimePreference:
    local = start.astimezone(turn.config.tz).date()
    window = TimeWindow(local, local + timedelta(days=HORIZON_DAYS))
    return TimePreference(now=max(start, turn.now), tz=turn.config.tz, windows=(window,))


def _soonest(turn: Turn, start: datetime) -> TimePreference:
    local = start.astimezone(turn.config.tz).date()
    window = TimeWindow(local, local + timedelta(days=HORIZON_DAYS), TimeOfDay(time(0)))
    return TimePreference(now=start, tz=turn.config.tz, windows=(window,), soonest=True)


def _preference(turn: Turn, text: str) -> TimePreference | None:
    if not text:
        return None
    return parse_time_preference(text, turn.now, turn.config.tz, config=turn.config)


# --- reschedule and cancel --------------------------------------------------------------------------


def _find_existing(turn: Turn, ports: Scheduling, flow: Flow, patient: str) -> None:
    """Which visit to move or cancel: one is confirmed, several are listed, none offers a booking."""
    upcoming = ports.ehr.upcoming_appointments(patient, turn.now)
    if not upcoming:
        flow["step"] = "offer_book"
        turn.reply("appointments_none_upcoming")
        return
    if len(upcoming) == 1:
        _chose_existing(turn, ports, flow, upcoming[0], confirmed=False)
        return
    listed = upcoming[:OFFER_COUNT]
    flow["candidates"] = [_appointment_dict(a) for a in listed]
    flow["step"] = "which"
    flow["misses"] = 0
    _practitioners(ports, flow)
    lines = [_choice_line(turn, flow, n, _as_slot(a)) for n, a in enumerate(listed, start=1)]
    turn.reply("appointments_pick", appointments=_join(turn, lines))


def _chose_existing(
    turn: Turn, ports: Scheduling, flow: Flow, appointment: AppointmentRecord, *, confirmed: bool
) -> None:
    flow["appointment"] = _appointment_dict(appointment)
    flow["misses"] = 0
    line = _line(turn, flow, _as_slot(appointment), ports)
    if flow["intent"] == "appointment_cancel":
        flow["step"] = "cancel_confirm"
        turn.reply("cancel_confirm", appointment=line)
    elif confirmed:
        _move(turn, ports, flow, appointment)
    else:
        flow["step"] = "which_confirm"
        turn.reply("reschedule_confirm_which", appointment=line)


def _move(turn: Turn, ports: Scheduling, flow: Flow, appointment: AppointmentRecord) -> None:
    """Rescheduling: the same kind of visit with the same provider, at a time the patient picks."""
    flow["type"] = appointment.appointment_type or default_appointment_type(turn.config)
    flow["type_asked"] = True
    flow["provider"] = appointment.practitioner_id
    flow["provider_asked"] = True
    request = flow["request"]
    if _names_visit(turn, request, appointment):
        # "reschedule my appt wed": the day says which visit, not when the new one should be
        request = ""
    _book_from(turn, ports, flow, request)


def _names_visit(turn: Turn, text: str, appointment: AppointmentRecord) -> bool:
    """True when the day or time in `text` is the visit's own ("my appt thurs" of a Thursday
    visit), read like a pick of that visit from a list of one."""
    if _preference(turn, text) is None:
        return False
    choice = parse_choice(text, [_as_slot(appointment)], turn.config.tz, now=turn.now)
    return isinstance(choice, Picked)


def _which_step(turn: Turn, ports: Scheduling, flow: Flow, patient: str, interp: Interpretation) -> None:
    candidates = [_appointment(a) for a in flow["candidates"]]
    as_slots = [_as_slot(a) for a in candidates]
    providers = [Practitioner(id=i, name=n) for i, n in _practitioners(ports, flow).items()]
    choice = parse_choice(turn.inbound.text, as_slots, turn.config.tz, practitioners=providers, now=turn.now)
    if isinstance(choice, Picked):
        _chose_existing(turn, ports, flow, candidates[choice.position - 1], confirmed=True)
    elif not _interrupted(turn, ports, flow, patient, interp):
        _missed(turn, flow, "booking_pick_which")


def _which_confirm_step(
    turn: Turn, ports: Scheduling, flow: Flow, patient: str, interp: Interpretation
) -> None:
    answer = parse_yes_no(turn.inbound.text)
    if answer is True:
        _move(turn, ports, flow, _appointment(flow["appointment"]))
    elif answer is False:
        _end(turn)
        turn.reply("appointment_flow_stopped")
    elif not _interrupted(turn, ports, flow, patient, interp):
        _missed(turn, flow, "appointment_step_unclear")


def _cancel_confirm_step(
    turn: Turn, ports: Scheduling, flow: Flow, patient: str, interp: Interpretation
) -> None:
    answer = parse_yes_no(turn.inbound.text)
    if answer is True:
        flow["step"] = "cancel_reason"
        turn.reply("cancel_ask_reason")
    elif answer is False:
        _end(turn)
        turn.reply("cancel_kept")
    elif not _interrupted(turn, ports, flow, patient, interp):
        _missed(turn, flow, "appointment_step_unclear")


def _cancel_reason_step(
    turn: Turn, ports: Scheduling, flow: Flow, patient: str, interp: Interpretation
) -> None:
    text = turn.inbound.text.strip()
    given = bool(text) and not _SKIP.match(text)
    # the reason goes to the EHR (where staff read it), never into events or logs
    reason = text[:200] if given else f"Cancelled by the patient {_by(turn)}; no reason given"
    appointment = _appointment(flow["appointment"])
    ports.ehr.cancel(appointment, reason)
    line = _line(turn, flow, _as_slot(appointment), ports)
    turn.reply("cancel_done", appointment=line)
    _finished(
        turn,
        ports,
        patient,
        "appointment_cancelled",
        appointment,
        f"Cancelled {_by(turn)}: {line}.",
        reason_given=given,
    )
    report_change(turn, ports, lambda changes: changes.cancelled(appointment, turn.now))
    # the patient may want a new time: keep what the cancelled visit was, ask when
    turn.context.active_flow = FLOW
    turn.context.flow_state[STATE_KEY] = {
        "intent": "appointment_book",
        "request": "",
        "step": "offer_reschedule",
        "misses": 0,
        "dependent": False,
        "type": appointment.appointment_type,
        "type_asked": True,
        "provider": appointment.practitioner_id,
        "provider_asked": True,
        "providers": flow.get("providers", {}),
    }


def _offer_step(turn: Turn, ports: Scheduling, flow: Flow, patient: str, interp: Interpretation) -> None:
    """A YES/NO offer to book ("no upcoming visits: book one?", "cancelled: pick a new time?")."""
    answer = parse_yes_no(turn.inbound.text)
    if answer is True:
        flow["intent"] = "appointment_book"
        _book_from(turn, ports, flow, "")
    elif answer is False:
        _end(turn)
        turn.reply("offer_declined")
    elif _preference(turn, turn.inbound.text) is not None:
        # "yes, next friday" or just "next friday": straight to the times
        flow["intent"] = "appointment_book"
        _book_from(turn, ports, flow, turn.inbound.text)
    elif not _interrupted(turn, ports, flow, patient, interp):
        _missed(turn, flow, "appointment_step_unclear")


# --- resuming a flow on a new call ------------------------------------------------------------------


def _offer_to_resume(turn: Turn, ports: Scheduling, flow: Flow, patient: str) -> None:
    """Verified on a new call with a flow left open: name it and ask whether to finish it. A
    flow with nothing to name yet (the visit not found) simply carries on."""
    appointment = flow.get("appointment")
    line = _line(turn, flow, _as_slot(_appointment(appointment)), ports) if appointment else ""
    if flow["intent"] == "appointment_reschedule" and appointment:
        key, values = "resume_reschedule", {"appointment": line}
    elif flow["intent"] == "appointment_cancel" and appointment:
        key, values = "resume_cancel", {"appointment": line}
    elif flow["intent"] == "appointment_book":
        key, values = "resume_book", {}
    else:
        flow.pop("resume_step", None)
        _verified(turn, ports, flow, patient)
        return
    flow["step"] = "resume"
    flow["misses"] = 0
    turn.record_event("flow_resume_offered", intent=flow["intent"])
    turn.reply(key, **values)


def _found_elsewhere(turn: Turn, ports: Scheduling, flow: Flow, patient: str) -> bool:
    """Verified as a patient who left the same request open on another number (texted from their
    cell, now calling from work) within a day: take that flow over and offer to finish it."""
    if ports.elsewhere is None:
        return False
    other = ports.elsewhere(patient)
    if other is None or other.party_id == turn.context.party_id or not in_flow(other):
        return False
    if gate.verified_in(other, any_age=True) != patient:
        return False
    if other.last_activity is None or turn.now - other.last_activity > RESUME_WITHIN:
        return False
    theirs: Flow = other.flow_state[STATE_KEY]
    step = theirs.get("resume_step") if theirs.get("step") == "resume" else theirs.get("step")
    if theirs.get("intent") != flow["intent"] or step in (None, "verify"):
        return False
    adopted: Flow = copy.deepcopy(theirs)
    adopted.pop("resume", None)
    adopted["resume_step"] = step
    turn.context.flow_state[STATE_KEY] = adopted
    turn.record_event("flow_found_on_another_number", intent=flow["intent"])
    _offer_to_resume(turn, ports, adopted, patient)
    return True


def _resume_step(turn: Turn, ports: Scheduling, flow: Flow, patient: str, interp: Interpretation) -> None:
    answer = parse_yes_no(turn.inbound.text)
    if answer is False:
        _end(turn)
        turn.reply("appointment_flow_stopped")
        return
    if answer is None and not _TEXT_ME.search(turn.inbound.text):
        if not _interrupted(turn, ports, flow, patient, interp):
            _missed(turn, flow, "appointment_step_unclear")
        return
    turn.record_event("flow_resumed", intent=flow["intent"])
    step = flow.pop("resume_step", None)
    if step in ("pick", "confirm"):
        # the caller has not heard the times offered by text: offer (fresh, real) times again
        flow["seen"] = []
        flow.pop("chosen", None)
        _offer(turn, ports, flow)
    elif step == "when":
        flow["step"] = "when"
        turn.reply("booking_ask_when")
    elif step in ("type", "provider"):
        _next_question(turn, ports, flow)
    elif step in ("cancel_confirm", "cancel_reason") and flow.get("appointment"):
        _chose_existing(turn, ports, flow, _appointment(flow["appointment"]), confirmed=True)
    else:
        _verified(turn, ports, flow, patient)


def _text_offers(turn: Turn, flow: Flow) -> None:
    """On a call, "text me the options": the offered times go by SMS and the flow waits for the
    answer on either channel (the text thread is the same conversation)."""
    if turn.context.opted_out:
        turn.reply("options_text_opted_out")
        return
    slots = [_slot(s) for s in flow["offered"]]
    lines = [_choice_line(turn, flow, n, slot, Channel.SMS) for n, slot in enumerate(slots, start=1)]
    turn.text_caller("booking_offers", slots=_join(turn, lines, Channel.SMS))
    turn.record_event("continued_by_text", step=flow["step"])
    turn.reply("options_texted")


# --- confirm and status -------------------------------------------------------------------------


def _confirm_next(turn: Turn, ports: Scheduling, patient: str) -> None:
    upcoming = ports.ehr.upcoming_appointments(patient, turn.now)
    flow: Flow = turn.context.flow_state[STATE_KEY]
    if not upcoming:
        flow["step"] = "offer_book"
        turn.reply("appointments_none_upcoming")
        return
    nxt = upcoming[0]
    line = _line(turn, flow, _as_slot(nxt), ports)
    try:
        confirmed = ports.ehr.confirm(nxt)
    except NotFound:
        # gone between the list and the confirmation (changed at the front desk): a person sorts it out
        _end(turn)
        hand_off(turn, EscalationReason.HUMAN_REQUESTED, Queue.FRONT_DESK, "appointment_confirm")
        return
    _end(turn)
    turn.reply("confirm_done", appointment=line)
    _finished(turn, ports, patient, "appointment_confirmed", nxt, f"Confirmed {_by(turn)}: {line}.")
    report_change(turn, ports, lambda changes: changes.confirmed(confirmed, turn.now))


def _status(turn: Turn, ports: Scheduling, patient: str) -> None:
    upcoming = ports.ehr.upcoming_appointments(patient, turn.now)
    flow: Flow = turn.context.flow_state[STATE_KEY]
    if not upcoming:
        flow["step"] = "offer_book"
        turn.reply("appointments_none_upcoming")
        return
    _practitioners(ports, flow)
    lines = [_line(turn, flow, _as_slot(a)) for a in upcoming[:OFFER_COUNT]]
    _end(turn)
    # spoken, the visits are one sentence: "A; and B" (each line is a phrase, not a sentence)
    spoken = turn.inbound.channel is Channel.VOICE
    listed = "; and ".join(lines) if spoken else _join(turn, lines)
    turn.reply("status_list", appointments=listed)
    _write_back(turn, ports, patient, f"Asked {_by(turn)} for upcoming visits; told of {len(lines)}.")


# --- mid-flow -------------------------------------------------------------------------------------


def _interrupted(turn: Turn, ports: Scheduling, flow: Flow, patient: str, interp: Interpretation) -> bool:
    """The answer did not fit the step: is it something else? Handles it and says True if so."""
    if _STOP.search(turn.inbound.text):
        _end(turn)
        turn.reply("appointment_flow_stopped")
        return True
    if interp.confidence < MIN_CONFIDENCE:
        return False
    wanted = waitlist.flow_intent(turn.inbound.text) if interp.intent == waitlist.INTENT else interp.intent
    if wanted in INTENTS | waitlist.FLOW_INTENTS and wanted != flow["intent"]:
        # a change of mind ("actually cancel it"): the new request, already verified
        turn.intent = interp.intent
        switched: Flow = {
            "intent": wanted,
            "request": turn.inbound.text,
            "step": "start",
            "misses": 0,
            "dependent": bool(_DEPENDENT.search(turn.inbound.text)),
            "providers": flow.get("providers", {}),
        }
        if flow.get("appointment"):
            switched["appointment"] = flow["appointment"]
        turn.context.flow_state[STATE_KEY] = switched
        if wanted == "appointment_cancel" and flow.get("appointment"):
            # the visit is already known: straight to "cancel it?"
            _chose_existing(turn, ports, switched, _appointment(flow["appointment"]), confirmed=True)
        else:
            _verified(turn, ports, switched, patient)
        return True
    if interp.intent == "practice_info":
        # answered, and the flow waits where it was
        turn.intent = "practice_info"
        practice_info.practice_info(turn, interp.entities)
        return True
    if interp.intent == "goodbye":
        _end(turn)
        smalltalk.goodbye(turn)
        return True
    return False


def _missed(turn: Turn, flow: Flow, key: str) -> None:
    flow["misses"] = int(flow.get("misses", 0)) + 1
    if flow["misses"] >= MAX_MISSES:
        _end(turn)
        make_offer(turn, NOT_UNDERSTOOD_OFFER, flow["intent"])
        return
    turn.reply(key)


def _outage(turn: Turn, flow: Flow) -> None:
    intent = str(flow.get("intent", "appointment_book"))
    _end(turn)
    gate.outage(turn, intent)


def _end(turn: Turn) -> None:
    turn.context.active_flow = None
    turn.context.flow_state.pop(STATE_KEY, None)


def _finished(
    turn: Turn,
    ports: Scheduling,
    patient: str,
    event: str,
    appointment: AppointmentRecord,
    summary: str,
    **data: Any,
) -> None:
    """A completed flow: an event on the timeline and the bus, and the EHR's Communication record."""
    turn.record_event(event, appointment_id=appointment.id, **data)
    _write_back(turn, ports, patient, summary)


def _write_back(turn: Turn, ports: Scheduling, patient: str, summary: str) -> None:
    """Every finished contact with a verified patient is written to the EHR as a Communication."""
    try:
        ports.ehr.record_communication(patient, summary, turn.inbound.channel.value, turn.now)
    except EhrUnavailable:
        # the visit itself is done; only the write-back is missing, and it must not fail the turn
        logger.warning("communication write-back failed", extra={"message_id": turn.inbound.message_id})


def report_change(turn: Turn, ports: Scheduling, report: Callable[[VisitChanges], None]) -> None:
    """Tell `VisitChanges` (when wired) what became of a visit. The visit itself is done in the EHR;
    a failed report is logged and must not fail the patient's turn."""
    if ports.changes is None:
        return
    try:
        report(ports.changes)
    except Exception:  # noqa: BLE001 - an outcome record is bookkeeping; the patient's change stands
        logger.warning(
            "visit change not reported", extra={"message_id": turn.inbound.message_id}, exc_info=True
        )


def finished(
    turn: Turn,
    ports: Scheduling,
    patient: str,
    event: str,
    appointment: AppointmentRecord,
    summary: str,
    **data: Any,
) -> None:
    """A visit changed outside a flow (a reply to a reminder or an offer): the timeline and bus
    event (`data`: no PHI), and the EHR's Communication record, as when a flow finishes."""
    _finished(turn, ports, patient, event, appointment, summary, **data)


def held_visit(turn: Turn, ports: Scheduling, patient: str, appointment_id: str) -> AppointmentRecord | None:
    """The patient's visit `appointment_id` as the EHR holds it now, if it is still booked and
    ahead (not moved, cancelled or begun)."""
    upcoming = ports.ehr.upcoming_appointments(patient, turn.now)
    return next((a for a in upcoming if a.id == appointment_id), None)


def _scoped_visit(turn: Turn, ports: Scheduling, flow: Flow, patient: str) -> bool:
    """A reschedule begun for one known visit (`begin_reschedule_of`): True when the verified
    patient still holds it and its new times are on their way."""
    scoped = flow.pop("scoped", None)
    if not scoped or scoped.get("patient_id") != patient:
        return False
    visit = held_visit(turn, ports, patient, str(scoped.get("appointment_id")))
    if visit is None:
        return False
    if _preference(turn, flow["request"]) is None:
        # "R" says no day: the soonest times for that visit, and the patient may ask for others
        flow["request"] = "asap"
    _chose_existing(turn, ports, flow, visit, confirmed=True)
    return True


# --- the waitlist ---------------------------------------------------------------------------------


def _waitlist(turn: Turn, ports: Scheduling, flow: Flow, patient: str) -> None:
    """Verified: on the waitlist for their soonest visit, or off it. No visit to move up: offer to book."""
    if ports.waitlist is None:
        _end(turn)
        waitlist.unavailable(turn, flow["intent"])
        return
    if flow["intent"] == waitlist.LEAVE:
        _end(turn)
        waitlist.leave(turn, ports.waitlist, patient)
        return
    upcoming = ports.ehr.upcoming_appointments(patient, turn.now)
    if not upcoming:
        flow["step"] = "offer_book"
        flow["misses"] = 0
        turn.reply("appointments_none_upcoming")
        return
    _end(turn)
    soonest = upcoming[0]
    when = _when(turn, soonest.start)
    waitlist.join(turn, ports.waitlist, patient, soonest, when)
    _write_back(turn, ports, patient, f"Joined the waitlist {_by(turn)} for a time earlier than {when}.")


_Step = Callable[[Turn, Scheduling, Flow, str, Interpretation], None]
_STEPS: Final[dict[str, _Step]] = {
    "type": _type_step,
    "provider": _provider_step,
    "when": _when_step,
    "pick": _pick_step,
    "confirm": _confirm_step,
    "which": _which_step,
    "which_confirm": _which_confirm_step,
    "cancel_confirm": _cancel_confirm_step,
    "cancel_reason": _cancel_reason_step,
    "offer_book": _offer_step,
    "offer_reschedule": _offer_step,
    "resume": _resume_step,
}


# --- words ----------------------------------------------------------------------------------------


def appointment_type_for(config: PracticeConfig, text: str) -> str | None:
    """The practice's appointment type a patient's words describe ("a checkup" -> the physical),
    or None when they name none. The longest matching phrase wins."""
    lowered = f" {re.sub(r'[^a-z0-9-]+', ' ', text.lower())} "
    best: tuple[int, str] | None = None
    for kind in config.appointment_types:
        own = f"{kind.id} {kind.name}".lower()
        phrases = [kind.name.lower(), *(p for stem, ps in _TYPE_PHRASES.items() if stem in own for p in ps)]
        for phrase in phrases:
            if f" {phrase} " in lowered and (best is None or len(phrase) > best[0]):
                best = (len(phrase), kind.id)
    return best[1] if best else None


def default_appointment_type(config: PracticeConfig) -> str | None:
    """The visit booked when the patient's reason fits no type: the practice's follow-up visit
    (the most common kind), else its first type."""
    kinds = config.appointment_types
    follow = next((k.id for k in kinds if "follow" in f"{k.id} {k.name}".lower()), None)
    return follow or (kinds[0].id if kinds else None)


def _practitioners(ports: Scheduling, flow: Flow) -> dict[str, str]:
    """The EHR's practitioners by id (names only, not patient data), fetched once per flow."""
    known: dict[str, str] | None = flow.get("providers")
    if not known:
        known = {p.id: p.name for p in ports.ehr.practitioners()}
        flow["providers"] = known
    return known


def _named_provider(text: str, providers: Mapping[str, str]) -> str | None:
    words = set(re.findall(r"[a-z]+", text.lower()))
    named = [
        pid
        for pid, name in providers.items()
        if any(w in words for w in re.findall(r"[a-z]+", name.lower()) if len(w) >= 3 and w not in _TITLES)
    ]
    return named[0] if len(named) == 1 else None


def short_name(name: str) -> str:
    """ "Dr. Lily Chen" -> "Dr. Chen"; "Ana Reyes, FNP-C" -> "Ana Reyes": short enough for an SMS."""
    plain = name.split(",")[0].strip()
    parts = plain.split()
    if parts and parts[0].rstrip(".").lower() in ("dr", "doctor") and len(parts) > 2:
        return f"Dr. {parts[-1]}"
    return plain


def _when(turn: Turn, start: datetime, channel: Channel | None = None) -> str:
    local = start.astimezone(turn.config.tz)
    if (channel or turn.inbound.channel) is Channel.VOICE:
        # spoken: whole words read naturally ("Thursday, December 3 at 10am"), no abbreviations
        return f"{local:%A}, {local:%B} {local.day} at {format_time(local.time())}"
    return f"{local:%a} {local:%b} {local.day} {format_time(local.time())}"


def _by(turn: Turn) -> str:
    """How the patient reached us, for the EHR's record of the contact."""
    return "by phone" if turn.inbound.channel is Channel.VOICE else "by text"


def _provider_name(flow: Flow, practitioner_id: str) -> str:
    name = flow.get("providers", {}).get(practitioner_id)
    return short_name(name) if name else "our provider"


def _location_name(turn: Turn, location_id: str | None) -> str:
    name = short_names(turn.config.locations).get(location_id or "")
    if name is None:
        return "our office"  # a location the practice config does not name
    return f"our {name} office" if turn.inbound.channel is Channel.VOICE else name


def _line(turn: Turn, flow: Flow, slot: FreeSlot, ports: Scheduling | None = None) -> str:
    if ports is not None:
        _practitioners(ports, flow)
    return turn.render(
        "appointment_line",
        when=_when(turn, slot.start),
        provider=_provider_name(flow, slot.practitioner_id),
        location=_location_name(turn, slot.location_id),
    )


def _choice_line(turn: Turn, flow: Flow, number: int, slot: FreeSlot, channel: Channel | None = None) -> str:
    return turn.render_for(
        channel,
        "choice_line",
        number=str(number),
        ordinal=ORDINALS.get(number, str(number)),
        when=_when(turn, slot.start, channel),
        provider=_provider_name(flow, slot.practitioner_id),
    )


def _join(turn: Turn, lines: Sequence[str], channel: Channel | None = None) -> str:
    return (" " if (channel or turn.inbound.channel) is Channel.VOICE else "\n").join(lines)


def _confident(interp: Interpretation, intent: str) -> bool:
    return interp.intent == intent and interp.confidence >= MIN_CONFIDENCE


# --- flow_state (JSON) forms ------------------------------------------------------------------------


def _slot_dict(slot: FreeSlot) -> dict[str, Any]:
    return {
        "id": slot.id,
        "practitioner_id": slot.practitioner_id,
        "start": slot.start.isoformat(),
        "end": slot.end.isoformat(),
        "appointment_type": slot.appointment_type,
        "location_id": slot.location_id,
        "version": slot.version,
    }


def _slot(data: Mapping[str, Any]) -> FreeSlot:
    return FreeSlot(
        id=data["id"],
        practitioner_id=data["practitioner_id"],
        start=datetime.fromisoformat(data["start"]),
        end=datetime.fromisoformat(data["end"]),
        appointment_type=data.get("appointment_type"),
        location_id=data.get("location_id"),
        version=data.get("version"),
    )


def _appointment_dict(appointment: AppointmentRecord) -> dict[str, Any]:
    return {
        "id": appointment.id,
        "patient_id": appointment.patient_id,
        "practitioner_id": appointment.practitioner_id,
        "start": appointment.start.isoformat(),
        "end": appointment.end.isoformat(),
        "status": appointment.status.value,
        "slot_id": appointment.slot_id,
        "appointment_type": appointment.appointment_type,
        "location_id": appointment.location_id,
        "version": appointment.version,
    }


def _appointment(data: Mapping[str, Any]) -> AppointmentRecord:
    return AppointmentRecord(
        id=data["id"],
        patient_id=data["patient_id"],
        practitioner_id=data["practitioner_id"],
        start=datetime.fromisoformat(data["start"]),
        end=datetime.fromisoformat(data["end"]),
        status=AppointmentStatus(data["status"]),
        slot_id=data.get("slot_id"),
        appointment_type=data.get("appointment_type"),
        location_id=data.get("location_id"),
        version=data.get("version"),
    )


def _as_slot(appointment: AppointmentRecord) -> FreeSlot:
    """An appointment in the shape the choice parser and line renderer read."""
    return FreeSlot(
        id=appointment.id,
        practitioner_id=appointment.practitioner_id,
        start=appointment.start,
        end=appointment.end,
        appointment_type=appointment.appointment_type,
        location_id=appointment.location_id,
    )
