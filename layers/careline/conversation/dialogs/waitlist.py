"""The waitlist for an earlier time: "let me know if anything earlier opens up", "take me off the
waitlist".

Joining names the patient's visit and their provider, so it waits behind the identity gate like
every appointment request (`appointments` runs the gate, then calls `join` or `leave` here). The
entry is for the patient's soonest upcoming visit: when a time with the same provider frees up
before it, the backfill job texts them an offer (`waitlist_offers` reads their answer).
"""

from __future__ import annotations

import re
from typing import Final

from careline.conversation.dialogs.handoff import hand_off
from careline.conversation.dialogs.turn import Turn
from careline.conversation.model import EscalationReason, Queue
from careline.ehr.model import AppointmentRecord
from careline.waitlist.model import WaitlistEntry
from careline.waitlist.ports import WaitlistStore

# the bot model's intent, for joining and for leaving alike (the words tell which)
INTENT: Final = "waitlist_join"
LEAVE: Final = "waitlist_leave"
FLOW_INTENTS: Final = frozenset({INTENT, LEAVE})

_WAITLIST: Final = r"wait\s*-?\s*list|waiting\s+list|cancell?ation\s+list"
# "take me off the waitlist", "remove me from the wait list", "I don't need the waitlist anymore"
_LEAVE: Final = re.compile(
    rf"\b(?:off|remove|removed|leave|out\s+of|drop|quit|stop|cancel|no\s+longer|not?\s+need|"
    rf"do\s*n[o']?t\s+(?:need|want))\b.{{0,30}}\b(?:{_WAITLIST})"
    rf"|\b(?:{_WAITLIST})\b.{{0,20}}\b(?:off|anymore|any\s+more|no\s+more|no\s+longer)\b",
    re.IGNORECASE,
)


def wants_off(text: str) -> bool:
    """True when the message asks to leave the waitlist rather than join it."""
    return bool(_LEAVE.search(text))


def flow_intent(text: str) -> str:
    """The flow a waitlist message starts: joining, or (its words say so) leaving."""
    return LEAVE if wants_off(text) else INTENT


def join(turn: Turn, store: WaitlistStore, patient: str, visit: AppointmentRecord, when: str) -> None:
    """Put the verified patient on the list for a time earlier than `visit` (their soonest), with
    its provider. Joining again replaces their entry and keeps their place."""
    store.join(
        WaitlistEntry(
            patient_id=patient,
            phone=turn.inbound.from_number,
            appointment_id=visit.id,
            practitioner_id=visit.practitioner_id,
            current_start=visit.start,
            joined_at=turn.now,
            appointment_type=visit.appointment_type,
        )
    )
    turn.record_event("waitlist_joined", appointment_id=visit.id)
    turn.reply("waitlist_joined", when=when)


def leave(turn: Turn, store: WaitlistStore, patient: str) -> None:
    """Take the patient off the list (their visit stays as it is)."""
    if store.entry(patient) is None:
        turn.reply("waitlist_not_on_list")
        return
    store.leave(patient)
    turn.record_event("waitlist_left")
    turn.reply("waitlist_left")


def unavailable(turn: Turn, wanted_intent: str) -> None:
    """This practice keeps no waitlist in Careline: the front desk takes the request."""
    hand_off(turn, EscalationReason.HUMAN_REQUESTED, Queue.FRONT_DESK, wanted_intent)
