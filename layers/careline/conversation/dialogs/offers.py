"""Intents whose dialogs are not built yet: say so honestly and offer a person (reply YES).

The offer waits in `flow_state["offer"]`; a YES on the next turn hands off with the offer's
reason and queue, a NO is acknowledged, anything else is interpreted afresh.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from careline.conversation.dialogs.handoff import hand_off
from careline.conversation.dialogs.turn import Turn
from careline.conversation.model import EscalationReason, Queue


class Offer(NamedTuple):
    message_key: str
    reason: EscalationReason
    queue: Queue


OFFERS: Final[dict[str, Offer]] = {
    "appointment_book": Offer(
        "appointments_offer_person", EscalationReason.HUMAN_REQUESTED, Queue.FRONT_DESK
    ),
    "appointment_reschedule": Offer(
        "appointments_offer_person", EscalationReason.HUMAN_REQUESTED, Queue.FRONT_DESK
    ),
    "appointment_cancel": Offer(
        "appointments_offer_person", EscalationReason.HUMAN_REQUESTED, Queue.FRONT_DESK
    ),
    "appointment_confirm": Offer(
        "appointments_offer_person", EscalationReason.HUMAN_REQUESTED, Queue.FRONT_DESK
    ),
    "appointment_status": Offer(
        "appointments_offer_person", EscalationReason.HUMAN_REQUESTED, Queue.FRONT_DESK
    ),
    "waitlist_join": Offer("appointments_offer_person", EscalationReason.HUMAN_REQUESTED, Queue.FRONT_DESK),
    "refill_request": Offer("refills_offer_person", EscalationReason.HUMAN_REQUESTED, Queue.NURSE),
    # a bill or coverage question Careline cannot look up: the billing team, reason billing_complex
    "billing_question": Offer("billing_offer_person", EscalationReason.BILLING_COMPLEX, Queue.BILLING),
    "insurance_question": Offer("insurance_offer_person", EscalationReason.BILLING_COMPLEX, Queue.BILLING),
}
# After the second message in a row Careline could not understand.
NOT_UNDERSTOOD_OFFER: Final = Offer(
    "fallback_offer_person", EscalationReason.NOT_UNDERSTOOD, Queue.FRONT_DESK
)


def make_offer(turn: Turn, offer: Offer, wanted_intent: str) -> None:
    """Reply with the offer and remember it for the next turn."""
    turn.reply(offer.message_key)
    turn.context.flow_state["offer"] = {
        "reason": offer.reason.value,
        "queue": offer.queue.value,
        "wanted": wanted_intent,
    }


def offer_person_for(turn: Turn, intent: str) -> None:
    """An intent Careline cannot do yet: be honest, offer a person."""
    make_offer(turn, OFFERS[intent], intent)


def answer_offer(turn: Turn, accepted: bool) -> None:
    """The patient answered a pending offer with YES or NO."""
    offer = turn.context.flow_state.pop("offer")
    if not accepted:
        turn.reply("offer_declined")
        return
    hand_off(turn, EscalationReason(offer["reason"]), Queue(offer["queue"]), str(offer["wanted"]))
