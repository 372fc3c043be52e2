"""The conversation engine: one inbound message in, one `TurnResult` out.

Free of AWS and HTTP: the only outside calls are through domain ports (the EHR and identity
verification, for the appointment dialogs), and only when the composition root supplies them.

The order is the safety contract of the product:
1. carrier keywords (STOP / HELP / START), before anything else, and silence while opted out (by
   text: on a call, "stop" is just a word, and a patient who opted out of texts may still call);
2. the safety screen on the raw text (emergency: 911; crisis: 988), before any interpretation;
3. while a person owns the conversation (agent panel), nothing more by text: the message waits
   for them (a caller is still answered: a live call cannot wait in silence);
4. a reply to a reminder or a waitlist offer the practice texted (texts only, while its visit or
   time is ahead, and only when nothing Careline asked since waits for an answer), then a pending
   YES/NO offer, then an appointment flow waiting for an answer, then interpretation and the
   dialog for the intent.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Final

from careline.config import PracticeConfig
from careline.conversation.dialogs import (
    appointments,
    fallback,
    handoff,
    offers,
    practice_info,
    reminder_replies,
    safety,
    smalltalk,
    waitlist,
    waitlist_offers,
)
from careline.conversation.dialogs.turn import Turn
from careline.conversation.frustration import sounds_frustrated
from careline.conversation.model import (
    Channel,
    ConversationContext,
    InboundMessage,
    TimelineEntry,
    TimelineKind,
    TurnResult,
)
from careline.conversation.optout import Keyword, match_keyword
from careline.identity import IdentityVerifier
from careline.nlu import Interpretation, classify, parse_yes_no
from careline.nlu.classifier import MIN_CONFIDENCE
from careline.ports import Clock, Ehr
from careline.reminders.outcomes import VisitChanges
from careline.safety import SafetyScreen
from careline.waitlist.ports import WaitlistStore

Classifier = Callable[[str], Interpretation]

# flow_state key: the Connect contact id of the call this party is (or was last) on
CALL_KEY: Final = "call"


class ConversationEngine:
    """Decides one turn of a conversation from the practice config and the party's context."""

    def __init__(
        self,
        config: PracticeConfig,
        clock: Clock,
        screen: SafetyScreen | None = None,
        classifier: Classifier = classify,
        *,
        ehr: Ehr | None = None,
        verifier: IdentityVerifier | None = None,
        flows_elsewhere: Callable[[str], ConversationContext | None] | None = None,
        changes: VisitChanges | None = None,
        waitlist: WaitlistStore | None = None,
    ) -> None:
        self._config = config
        self._clock = clock
        self._screen = screen or SafetyScreen()
        self._classify = classifier
        # Without both ports the appointment intents keep their honest "not by text yet" offer.
        # `changes` hears of every visit confirmed, cancelled or moved; `waitlist` keeps the
        # waitlist (without it, a request to join goes to the front desk).
        self._scheduling = (
            appointments.Scheduling(ehr, verifier, flows_elsewhere, changes, waitlist)
            if ehr is not None and verifier is not None
            else None
        )

    def take_turn(self, inbound: InboundMessage, context: ConversationContext) -> TurnResult:
        """Run the pipeline for one inbound message.

        Returns the new context (same `version`; the store bumps it), the replies, the timeline
        entries (the inbound message first), escalations and domain events. `context` is not changed.
        """
        now = self._clock.now()
        own = copy.deepcopy(context)
        own.last_activity = now
        turn = Turn(config=self._config, inbound=inbound, context=own, now=now)
        inbound_entry = len(turn.timeline)
        turn.timeline.append(
            TimelineEntry(
                at=inbound.received_at,
                kind=TimelineKind.INBOUND,
                channel=inbound.channel,
                text=inbound.text,
                data={"message_id": inbound.message_id},
            )
        )
        self._run(turn, context.last_activity)
        if turn.intent is not None:
            entry = turn.timeline[inbound_entry]
            turn.timeline[inbound_entry] = TimelineEntry(
                at=entry.at,
                kind=entry.kind,
                channel=entry.channel,
                text=entry.text,
                data={**entry.data, "intent": turn.intent},
            )
        return dataclasses.replace(turn.result(), flow_patient_id=appointments.flow_patient(turn.context))

    def _run(self, turn: Turn, last_activity: datetime | None) -> None:
        on_call = turn.inbound.channel is Channel.VOICE
        if not on_call:
            # carrier keywords are a texting matter: a caller who says "stop" has not opted out
            keyword = match_keyword(turn.inbound.text)
            if keyword is not None:
                self._keyword(turn, keyword)
                return
            if turn.context.opted_out:
                # opted out: recorded on the timeline, otherwise nothing at all (TCPA)
                return
        elif turn.context.flow_state.get(CALL_KEY) != turn.inbound.session_id:
            self._call_started(turn, last_activity)
        turn.remember_inbound()
        screened = self._screen.screen(turn.inbound.text)
        if screened.flagged:
            safety.safety_protocol(turn, screened)
            return
        if turn.context.human_owner is not None and not on_call:
            # a person has taken the conversation over: Careline stays silent (safety aside, above)
            # and the message waits for them on the timeline until they hand it back
            turn.intent = "with_staff"
            turn.record_event("message_for_staff")
            return
        if sounds_frustrated(turn.inbound.text):
            turn.intent = "frustration"
            turn.context.failed_understandings = 0
            turn.context.flow_state.pop("offer", None)
            appointments.stop(turn.context)
            handoff.frustrated(turn)
            return
        if self._scoped_reply(turn, last_activity):
            return
        pending = turn.context.flow_state.get("offer")
        if pending is not None:
            answer = parse_yes_no(turn.inbound.text)
            if answer is not None:
                turn.intent = "offer_accepted" if answer else "offer_declined"
                turn.context.failed_understandings = 0
                offers.answer_offer(turn, answer)
                return
            # the patient moved on: the offer lapses and the message is read afresh
            turn.context.flow_state.pop("offer")
        if self._scheduling is not None and appointments.in_flow(turn.context):
            turn.context.failed_understandings = 0
            appointments.proceed(turn, self._scheduling, self._classify(turn.inbound.text))
            return
        self._dialog(turn, self._classify(turn.inbound.text))

    def _scoped_reply(self, turn: Turn, last_activity: datetime | None) -> bool:
        """A text answering a reminder ("C", "R", "X") or a waitlist offer ("yes") the practice sent:
        acted on for exactly that visit or time. True when handled.

        A scope answers only while nothing Careline asked since waits for an answer (an appointment
        flow's question, a YES/NO offer), unless the scope is newer than the patient's last message.
        A "yes" both scopes read goes to the newer one. Anything else goes on to the dialogs; a
        "cancel your visit?" it leaves unanswered takes the reminder's scope with it, so a later
        "yes" acts on no visit.
        """
        ports = self._scheduling
        if ports is None or turn.inbound.channel is not Channel.SMS:
            return False
        reminder = reminder_replies.pending(turn)
        offer = waitlist_offers.pending(turn)
        if reminder is None and offer is None:
            return False
        context = turn.context
        waiting = appointments.in_flow(context) or "offer" in context.flow_state

        def live(asked_at: datetime) -> bool:
            return not waiting or last_activity is None or asked_at >= last_activity

        text = turn.inbound.text
        to_reminder = None
        if reminder is not None and live(reminder.asked_at):
            awaiting = reminder.awaiting_since is not None
            to_reminder = reminder_replies.read(text, awaiting_cancel=awaiting)
        to_offer = None
        if offer is not None and live(offer.offered_at):
            to_offer = waitlist_offers.read(text)
        # a reply both read ("yes") answers the newer message
        offer_newer = (
            reminder is not None
            and offer is not None
            and to_offer is not None
            and offer.offered_at > reminder.asked_at
        )
        if reminder is not None and to_reminder is not None and not offer_newer:
            self._answered(turn)
            reminder_replies.answer(turn, ports, reminder, to_reminder)
            return True
        if offer is not None and to_offer is not None:
            self._answered(turn)
            waitlist_offers.answer(turn, ports, offer, to_offer)
            return True
        if reminder is not None and reminder.awaiting_since is not None:
            reminder_replies.drop(turn)
        return False

    @staticmethod
    def _answered(turn: Turn) -> None:
        """A reply to the practice's newer message: an older question still open lapses."""
        turn.context.flow_state.pop("offer", None)
        appointments.stop(turn.context)

    def _call_started(self, turn: Turn, last_activity: datetime | None) -> None:
        """The first turn of a phone call: remember the call, and have the caller prove identity
        on it before anything from another channel is picked up again."""
        turn.context.flow_state[CALL_KEY] = turn.inbound.session_id
        turn.record_event("call_started")
        if self._scheduling is not None:
            appointments.call_started(turn, self._scheduling, last_activity)

    def _keyword(self, turn: Turn, keyword: Keyword) -> None:
        context = turn.context
        turn.intent = keyword.value
        if keyword is Keyword.OPT_OUT:
            if context.opted_out:
                return  # acknowledged once already
            context.opted_out = True
            context.opted_out_at = turn.now
            context.active_flow = None
            context.flow_state.pop("offer", None)
            # a reminder or offer texted before must not act on a reply after texts resume
            reminder_replies.drop(turn)
            waitlist_offers.drop(turn)
            turn.record_event("opted_out", keyword=keyword.value)
            turn.reply("opt_out_ack", purpose="opt_out_ack")
        elif keyword is Keyword.OPT_IN:
            if context.opted_out:
                context.opted_out = False
                context.opted_out_at = None
                turn.record_event("opted_in", keyword=keyword.value)
            turn.reply("opt_in_ack", purpose="opt_in_ack")
        elif not context.opted_out:
            turn.reply("help", purpose="help")

    def _dialog(self, turn: Turn, interpretation: Interpretation) -> None:
        intent = interpretation.intent
        turn.intent = intent
        if intent == "out_of_scope" or interpretation.confidence < MIN_CONFIDENCE:
            if self._scheduling is not None and appointments.answer_while_locked(turn, self._scheduling):
                return
            fallback.not_understood(turn)
            return
        turn.context.failed_understandings = 0
        if intent == "greeting":
            smalltalk.greeting(turn)
        elif intent == "goodbye":
            smalltalk.goodbye(turn)
        elif intent == "practice_info":
            practice_info.practice_info(turn, interpretation.entities)
        elif intent == "speak_to_human":
            handoff.talk_to_person(turn)
        elif intent == "clinical_question":
            handoff.clinical_question(turn)
        elif intent in appointments.INTENTS and self._scheduling is not None:
            appointments.begin(turn, self._scheduling, intent)
        elif intent == waitlist.INTENT and self._scheduling is not None:
            wanted = waitlist.flow_intent(turn.inbound.text)
            if self._scheduling.waitlist is None:
                waitlist.unavailable(turn, wanted)
            else:
                appointments.begin(turn, self._scheduling, wanted)
        elif intent in offers.OFFERS:
            offers.offer_person_for(turn, intent)
        else:  # an intent in the bot model with no dialog: never guess
            fallback.not_understood(turn)
            return
        turn.note_handled(intent)
