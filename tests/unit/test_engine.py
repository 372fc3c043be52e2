"""The conversation engine, turn by turn: keywords, safety, dialogs, fallback, escalations."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime

import pytest
from careline.config import PracticeConfig
from careline.conversation.engine import ConversationEngine
from careline.conversation.model import (
    Channel,
    ConversationContext,
    EscalationReason,
    InboundMessage,
    Queue,
    TimelineKind,
    TurnResult,
    Urgency,
)
from careline.messages import is_gsm7, sms_segments
from careline.nlu import Interpretation

from tests.unit.fakes import FixedClock, local

PATIENT = "+15035550142"
PRACTICE_NUMBER = "+15035550100"
_ids = itertools.count(1)


class Conversation:
    """One patient texting the engine, carrying the context from turn to turn like the store would."""

    def __init__(self, practice: PracticeConfig, at: datetime, channel: Channel = Channel.SMS) -> None:
        self.clock = FixedClock(at)
        self.engine = ConversationEngine(practice, self.clock)
        self.context = ConversationContext(party_id="party-1", phone=PATIENT)
        self.channel = channel

    def say(self, text: str, message_id: str | None = None) -> TurnResult:
        inbound = InboundMessage(
            message_id=message_id or f"m-{next(_ids)}",
            channel=self.channel,
            from_number=PATIENT,
            to_number=PRACTICE_NUMBER,
            text=text,
            received_at=self.clock.now(),
        )
        result = self.engine.take_turn(inbound, self.context)
        self.context = result.context
        return result


def texts(result: TurnResult) -> str:
    return "\n".join(r.text for r in result.replies)


def events(result: TurnResult) -> list[str]:
    return [e.event for e in result.timeline if e.kind is TimelineKind.EVENT and e.event]


TUESDAY_10AM = local(2026, 12, 22, 10, 0)


@pytest.fixture
def chat(practice: PracticeConfig) -> Conversation:
    return Conversation(practice, TUESDAY_10AM)


# --- carrier keywords ---------------------------------------------------------------------------------


def test_stop_opts_out_records_an_event_and_acknowledges(chat: Conversation) -> None:
    result = chat.say("Stop.")
    assert result.context.opted_out
    assert result.context.opted_out_at == TUESDAY_10AM
    assert [r.purpose for r in result.replies] == ["opt_out_ack"]
    assert "START" in texts(result)
    assert events(result) == ["opted_out"]
    assert [e.detail_type for e in result.events] == ["opted_out"]
    assert result.intent == "opt_out"


def test_stop_is_acknowledged_only_once(chat: Conversation) -> None:
    chat.say("STOP")
    again = chat.say("stop")
    assert again.replies == []
    assert again.events == []
    assert [e.kind for e in again.timeline] == [TimelineKind.INBOUND]


def test_opted_out_numbers_get_no_reply_and_no_processing_but_are_recorded(chat: Conversation) -> None:
    chat.say("STOP")
    for text in ("what are your hours", "HELP", "talk to a person", "I have chest pain", "hi"):
        result = chat.say(text)
        assert result.replies == [], text
        assert result.escalations == [], text
        assert result.events == [], text
        assert [(e.kind, e.text) for e in result.timeline] == [(TimelineKind.INBOUND, text)]


def test_start_opts_back_in_and_service_resumes(chat: Conversation) -> None:
    chat.say("STOP")
    back = chat.say("START")
    assert not back.context.opted_out
    assert [r.purpose for r in back.replies] == ["opt_in_ack"]
    assert events(back) == ["opted_in"]
    assert "closes" not in texts(back)
    hours = chat.say("are you open today")
    assert "open now until 5pm" in texts(hours)


def test_unstop_also_opts_back_in(chat: Conversation) -> None:
    chat.say("cancel")
    assert chat.say("unstop").context.opted_out is False


def test_help_names_the_practice_the_number_and_how_to_opt_out(chat: Conversation) -> None:
    result = chat.say("HELP")
    reply = texts(result)
    assert "Riverbend Family Medicine" in reply
    assert "(503) 555-0100" in reply
    assert "STOP" in reply
    assert result.replies[0].purpose == "help"
    assert not result.context.opted_out


def test_cancel_my_appointment_is_not_an_opt_out(chat: Conversation) -> None:
    result = chat.say("cancel my appointment")
    assert not result.context.opted_out
    assert result.intent == "appointment_cancel"


def test_stop_keyword_opts_out_before_safety_screen(practice: PracticeConfig) -> None:
    class ExplodingScreen:
        def screen(self, text: str) -> object:
            raise AssertionError("the safety screen must not see a carrier keyword")

    engine = ConversationEngine(practice, FixedClock(TUESDAY_10AM), screen=ExplodingScreen())  # type: ignore[arg-type]
    inbound = InboundMessage("m-x", Channel.SMS, PATIENT, PRACTICE_NUMBER, "STOP", TUESDAY_10AM)
    assert engine.take_turn(inbound, ConversationContext("p", PATIENT)).context.opted_out


# --- safety ----------------------------------------------------------------------------------------------


def test_emergency_gets_911_and_an_emergency_escalation_to_the_nurse_queue(chat: Conversation) -> None:
    result = chat.say("my husband has crushing chest pain")
    assert "Call 911 now" in texts(result)
    [escalation] = result.escalations
    assert (escalation.reason, escalation.urgency, escalation.queue) == (
        EscalationReason.EMERGENCY,
        Urgency.EMERGENCY,
        Queue.NURSE,
    )
    assert events(result) == ["safety_flag", "escalation_requested"]
    assert result.intent == "safety_emergency"
    assert result.context.escalation_open


def test_crisis_gets_988_and_a_crisis_escalation(chat: Conversation) -> None:
    result = chat.say("i dont want to live anymore")
    assert "988" in texts(result)
    [escalation] = result.escalations
    assert (escalation.reason, escalation.urgency, escalation.queue) == (
        EscalationReason.CRISIS,
        Urgency.CRISIS,
        Queue.CRISIS,
    )


def test_safety_hook_runs_before_interpretation(practice: PracticeConfig) -> None:
    def classifier(text: str) -> Interpretation:
        raise AssertionError("interpretation must not run on a flagged message")

    engine = ConversationEngine(practice, FixedClock(TUESDAY_10AM), classifier=classifier)
    inbound = InboundMessage(
        "m-y", Channel.SMS, PATIENT, PRACTICE_NUMBER, "he is not breathing", TUESDAY_10AM
    )
    result = engine.take_turn(inbound, ConversationContext("p", PATIENT))
    assert result.escalations[0].reason is EscalationReason.EMERGENCY


def test_safety_wins_over_a_pending_offer(chat: Conversation) -> None:
    chat.say("can I book a physical")
    result = chat.say("wait my chest hurts really bad")
    assert result.escalations[0].reason is EscalationReason.EMERGENCY
    assert "offer" not in result.context.flow_state


def test_safety_events_hold_no_patient_words(chat: Conversation) -> None:
    result = chat.say("Maria Lopez has chest pain")
    for event in result.events:
        assert "Maria" not in str(event.detail)
        assert "chest pain" not in str(event.detail)
    assert "Maria Lopez has chest pain" in result.escalations[0].summary  # the agent needs it


# --- practice information --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (local(2026, 12, 22, 10, 0), "We're open now until 5pm today."),
        # both offices open later today, at different times
        (
            local(2026, 12, 22, 7, 15),
            "Our offices today:\nHawthorne: open 8am-5pm\nSt. Johns: open 8:30am-5pm\n",
        ),
        # St. Johns is closed on Wednesdays, so it opens again only on Thursday
        (
            local(2026, 12, 22, 18, 30),
            "We're closed now. We open tomorrow at 8am (St. Johns Thursday at 8:30am).",
        ),
        (
            local(2026, 12, 26, 11, 0),
            "We're closed now. We open Monday at 8am (St. Johns at 8:30am).",
        ),  # Saturday
        (
            local(2026, 12, 25, 9, 0),
            "We're closed today (Christmas Day). We open Monday at 8am (St. Johns at 8:30am).",
        ),
        (
            local(2026, 11, 27, 9, 0),
            "We're closed today (Day after Thanksgiving). We open Monday at 8am (St. Johns at 8:30am).",
        ),
        # Christmas Eve half day
        (local(2026, 12, 24, 13, 0), "We're closed now. We open Monday at 8am (St. Johns at 8:30am)."),
    ],
)
def test_hours_today(practice: PracticeConfig, at: datetime, expected: str) -> None:
    result = Conversation(practice, at).say("are you open today?")
    assert texts(result).startswith(expected)


def test_hours_on_the_dst_change_day_use_the_local_wall_clock(practice: PracticeConfig) -> None:
    # Sunday 2026-03-08, DST starts; asked at 8:30am PDT, the answer is Monday at 8am
    result = Conversation(practice, local(2026, 3, 8, 8, 30)).say("wat time r u open")
    assert "We open tomorrow at 8am (St. Johns at 8:30am)" in texts(result)


def test_hours_this_week_name_the_holiday_closures(practice: PracticeConfig) -> None:
    result = Conversation(practice, local(2026, 12, 22, 9, 0)).say("what are your hours this week")
    reply = texts(result)
    assert "Fri Dec 25: closed (Christmas Day)" in reply
    assert "Thu Dec 24: 8am-12pm (Christmas Eve)" in reply
    assert reply.count("\n") == 8  # heading, seven days, and the office keeping other hours


def test_address_lists_both_offices(chat: Conversation) -> None:
    reply = texts(chat.say("adress?"))
    assert "2301 SE Hawthorne Blvd, Suite 200, Portland, OR 97214" in reply
    assert "8520 N Lombard St, Portland, OR 97203" in reply


def test_parking(chat: Conversation) -> None:
    assert "lot behind the building" in texts(chat.say("wher do i park"))


def test_directions(chat: Conversation) -> None:
    assert "Bus 14" in texts(chat.say("how do i get to your office"))


def test_what_to_bring(chat: Conversation) -> None:
    assert "insurance card" in texts(chat.say("what do i need to bring"))


def test_fax(chat: Conversation) -> None:
    assert "(503) 555-0101" in texts(chat.say("whats ur fax"))


def test_voice_gets_the_spoken_wording(practice: PracticeConfig) -> None:
    call = Conversation(practice, local(2026, 12, 25, 9, 0), channel=Channel.VOICE)
    result = call.say("are you open today")
    assert "9 1 1" in texts(result)
    assert result.replies[0].channel is Channel.VOICE


def test_greeting_and_goodbye(chat: Conversation) -> None:
    assert "Riverbend Family Medicine" in texts(chat.say("hi"))
    assert "Take care" in texts(chat.say("thanks bye"))


# --- talk to a person ------------------------------------------------------------------------------------


def test_talk_to_a_person_in_hours(chat: Conversation) -> None:
    chat.say("what are your hours")
    result = chat.say("talk to a person please")
    [escalation] = result.escalations
    assert escalation.reason is EscalationReason.HUMAN_REQUESTED
    assert escalation.urgency is Urgency.ROUTINE
    assert escalation.queue is Queue.FRONT_DESK
    assert escalation.channel is Channel.SMS
    assert escalation.created_at == TUESDAY_10AM
    assert texts(result) == "Got it. Someone from our front desk will text you back within 15 minutes."
    assert "escalation_requested" in events(result)


def test_the_summary_tells_the_agent_what_was_wanted_done_and_said(chat: Conversation) -> None:
    chat.say("what are your hours")
    summary = chat.say("talk to a person please").escalations[0].summary
    assert "asked to talk to a person" in summary
    assert "practice info" in summary
    assert "Patient: what are your hours" in summary
    assert "Careline: We're open now until 5pm" in summary
    assert "Patient: talk to a person please" in summary


def test_talk_to_a_person_after_hours_says_when_and_911(practice: PracticeConfig) -> None:
    result = Conversation(practice, local(2026, 12, 25, 20, 0)).say("can i talk to someone")
    assert result.escalations[0].reason is EscalationReason.HUMAN_REQUESTED
    reply = texts(result)
    assert "Someone will text you Monday at 8am" in reply
    assert "911" in reply


def test_a_second_request_does_not_open_a_second_escalation(chat: Conversation) -> None:
    chat.say("talk to a person")
    again = chat.say("agent please")
    assert again.escalations == []
    assert "We have your request" in texts(again)


def test_escalation_id_is_derived_from_the_inbound_message_id(practice: PracticeConfig) -> None:
    first = Conversation(practice, TUESDAY_10AM).say("talk to a person", message_id="inbound-42")
    retried = Conversation(practice, TUESDAY_10AM).say("talk to a person", message_id="inbound-42")
    other = Conversation(practice, TUESDAY_10AM).say("talk to a person", message_id="inbound-43")
    assert first.escalations[0].escalation_id == retried.escalations[0].escalation_id
    assert first.escalations[0].escalation_id != other.escalations[0].escalation_id
    assert uuid.UUID(first.escalations[0].escalation_id).version == 5


# --- intents without dialogs yet ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason", "queue"),
    [
        ("can I book a physical", EscalationReason.HUMAN_REQUESTED, Queue.FRONT_DESK),
        ("i need a refill on my inhaler", EscalationReason.HUMAN_REQUESTED, Queue.NURSE),
        ("how much do i owe", EscalationReason.BILLING_COMPLEX, Queue.BILLING),
        ("do you take medicare", EscalationReason.BILLING_COMPLEX, Queue.BILLING),
    ],
)
def test_unbuilt_intents_reply_honestly_and_yes_gets_a_person(
    chat: Conversation, text: str, reason: EscalationReason, queue: Queue
) -> None:
    offer = chat.say(text)
    assert offer.escalations == []
    assert "YES" in texts(offer)
    accepted = chat.say("yes")
    [escalation] = accepted.escalations
    assert (escalation.reason, escalation.queue, escalation.urgency) == (reason, queue, Urgency.ROUTINE)


def test_clinical_questions_are_never_answered_and_go_straight_to_the_nurse_line(chat: Conversation) -> None:
    result = chat.say("is it normal to have a rash after a vaccine")
    reply = texts(result)
    assert "can't give medical advice" in reply
    assert "nurse line to text you back within 30 minutes" in reply
    [escalation] = result.escalations
    assert (escalation.reason, escalation.queue, escalation.urgency) == (
        EscalationReason.CLINICAL_QUESTION,
        Queue.NURSE,
        Urgency.ROUTINE,
    )
    assert "Identity: not verified." in escalation.summary


@pytest.mark.parametrize(
    "text",
    [
        "this is useless",
        "you are not helping at all",
        "I already told you that",
        "stupid bot, just get me someone",
        "WHY IS THIS SO HARD TO BOOK!!!",
        "what a waste of my time",
    ],
)
def test_a_frustrated_patient_gets_an_apology_and_a_person(chat: Conversation, text: str) -> None:
    result = chat.say(text)
    [escalation] = result.escalations
    assert (escalation.reason, escalation.queue) == (EscalationReason.FRUSTRATION, Queue.FRONT_DESK)
    assert "sorry this has been frustrating" in texts(result)


@pytest.mark.parametrize(
    "text",
    ["I'm so frustrated with my back pain", "not annoyed, just asking about parking", "THANK YOU SO MUCH!!"],
)
def test_frustration_with_something_else_is_not_frustration_with_us(chat: Conversation, text: str) -> None:
    assert chat.say(text).intent != "frustration"


def test_while_staff_own_the_conversation_careline_is_silent_but_for_safety_and_keywords(
    chat: Conversation,
) -> None:
    chat.say("talk to a person")
    chat.context.human_owner = "frontdesk-jo"
    quiet = chat.say("what are your hours")
    assert quiet.replies == []
    assert quiet.intent == "with_staff"
    assert "message_for_staff" in [e.detail_type for e in quiet.events]
    crisis = chat.say("i want to kill myself")
    assert "988" in texts(crisis)
    assert "No more" in texts(chat.say("STOP")) or chat.context.opted_out


def test_no_declines_an_offer_kindly(chat: Conversation) -> None:
    chat.say("can I book a physical")
    result = chat.say("no thanks")
    assert result.escalations == []
    assert "No problem" in texts(result)
    assert "offer" not in result.context.flow_state


def test_an_offer_lapses_when_the_patient_asks_something_else(chat: Conversation) -> None:
    chat.say("can I book a physical")
    chat.say("where do i park")
    result = chat.say("yes")
    assert result.escalations == []


# --- fallback ----------------------------------------------------------------------------------------


def test_fallback_asks_once_then_offers_a_person_then_yes_escalates(chat: Conversation) -> None:
    first = chat.say("blorp zzzt")
    assert "another way" in texts(first)
    assert first.context.failed_understandings == 1
    second = chat.say("qwxv plumbus")
    assert "Reply YES" in texts(second)
    assert second.escalations == []
    yes = chat.say("YES")
    [escalation] = yes.escalations
    assert escalation.reason is EscalationReason.NOT_UNDERSTOOD
    assert escalation.queue is Queue.FRONT_DESK
    assert yes.context.failed_understandings == 0


def test_an_understood_turn_resets_the_fallback_counter(chat: Conversation) -> None:
    chat.say("blorp zzzt")
    chat.say("what are your hours")
    again = chat.say("qwxv plumbus")
    assert again.context.failed_understandings == 1
    assert "another way" in texts(again)


# --- the result ----------------------------------------------------------------------------------------


def test_the_turn_records_inbound_first_then_each_reply(chat: Conversation) -> None:
    result = chat.say("are you open today")
    kinds = [e.kind for e in result.timeline]
    assert kinds == [TimelineKind.INBOUND, TimelineKind.OUTBOUND]
    assert result.timeline[0].data == {
        "message_id": result.timeline[0].data["message_id"],
        "intent": "practice_info",
    }
    assert result.timeline[1].data["message_key"] == "hours_open_now"


def test_the_engine_leaves_the_version_and_the_callers_context_alone(practice: PracticeConfig) -> None:
    engine = ConversationEngine(practice, FixedClock(TUESDAY_10AM))
    context = ConversationContext("p", PATIENT, version=7)
    inbound = InboundMessage("m-z", Channel.SMS, PATIENT, PRACTICE_NUMBER, "STOP", TUESDAY_10AM)
    result = engine.take_turn(inbound, context)
    assert result.context.version == 7
    assert result.context.last_activity == TUESDAY_10AM
    assert context.opted_out is False
    assert context.flow_state == {}


def test_asking_about_todays_weekday_answers_for_today(practice: PracticeConfig) -> None:
    thursday_evening = local(2026, 3, 5, 17, 30)
    result = Conversation(practice, thursday_evening).say("are you open late on thursdays?")
    assert texts(result).startswith("Our offices today:\nHawthorne: open now until 7pm\n")


def test_asking_about_another_weekday_answers_for_that_day(chat: Conversation) -> None:
    assert texts(chat.say("r u open saturday")).startswith(
        "Saturday, Dec 26: we're closed. We open again Monday at 8am (St. Johns at 8:30am)."
    )


def test_what_to_bring_wins_over_the_word_appointment(chat: Conversation) -> None:
    result = chat.say("first appt tomorrow, what do i need to bring?")
    assert "photo ID" in texts(result)
    assert result.escalations == []


# --- hours for the day asked about ---------------------------------------------------------------------

TUESDAY_DEC_1_10AM = local(2026, 12, 1, 10, 0)


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        (
            "are you open tomorrow",
            "Tomorrow, Wednesday, Dec 2:\nHawthorne: open 8am-5pm\nSt. Johns: closed\n",
        ),
        ("r u open tmrw?", "Tomorrow, Wednesday, Dec 2:\nHawthorne: open 8am-5pm\nSt. Johns: closed\n"),
        ("when do you open monday", "Monday, Dec 7:\nHawthorne: open 8am-5pm\nSt. Johns: open 8:30am-5pm\n"),
        (
            "open on saturday?",
            "Saturday, Dec 5: we're closed. We open again Monday at 8am (St. Johns at 8:30am).",
        ),
        (
            "what time do you close friday",
            "Friday, Dec 4:\nHawthorne: open 8am-4pm\nSt. Johns: open 8:30am-4pm\n",
        ),
        (
            "are you open christmas eve",
            "Thursday, Dec 24 (Christmas Eve):\nHawthorne: open 8am-12pm\nSt. Johns: open 8:30am-12pm\n",
        ),
        (
            "what are your hours dec 24",
            "Thursday, Dec 24 (Christmas Eve):\nHawthorne: open 8am-12pm\nSt. Johns: open 8:30am-12pm\n",
        ),
        (
            "are you open 12/25",
            "Friday, Dec 25 (Christmas Day): we're closed. We open again Monday, Dec 28 at 8am "
            "(St. Johns at 8:30am).",
        ),
        (
            "open new year's day?",
            "Friday, Jan 1 (New Year's Day): we're closed. We open again Monday, Jan 4 at 8am "
            "(St. Johns at 8:30am).",
        ),
        (
            "open on thanksgiving?",
            "Thursday, Nov 25 (Thanksgiving Day): we're closed. We open again Friday, Nov 26 at 8am "
            "(St. Johns at 8:30am).",
        ),
        (
            "are you open on veterans day",
            "Thursday, Nov 11 (Veterans Day):\nHawthorne: open 8am-7pm\nSt. Johns: open 8:30am-5pm\n",
        ),
        (
            "are you open the 31st",
            "Thursday, Dec 31 (New Year's Eve):\nHawthorne: open 8am-12pm\nSt. Johns: open 8:30am-12pm\n",
        ),
    ],
)
def test_a_question_naming_one_day_answers_that_day(
    practice: PracticeConfig, question: str, answer: str
) -> None:
    result = Conversation(practice, TUESDAY_DEC_1_10AM).say(question)
    assert texts(result).startswith(answer)


def test_tomorrow_closed_for_a_holiday_names_it_and_when_we_open(practice: PracticeConfig) -> None:
    result = Conversation(practice, local(2026, 12, 24, 9, 0)).say("are you open tomorrow?")
    assert texts(result).startswith(
        "We're closed tomorrow, Friday, Dec 25 (Christmas Day). We open again Monday at 8am "
        "(St. Johns at 8:30am)."
    )
    assert result.timeline[-1].data["message_key"] == "hours_tomorrow_closed"


def test_today_said_outright_wins_over_a_holiday_greeting(practice: PracticeConfig) -> None:
    result = Conversation(practice, local(2027, 1, 4, 10, 0)).say("happy new year! are you open today?")
    assert texts(result).startswith("We're open now until 5pm today.")


def test_naming_todays_date_answers_for_right_now(practice: PracticeConfig) -> None:
    result = Conversation(practice, TUESDAY_DEC_1_10AM).say("are you open dec 1")
    assert texts(result).startswith("We're open now until 5pm today.")


@pytest.mark.parametrize(
    "question",
    ["what are your hours this week", "are you open this weekend", "hours for monday and tuesday?"],
)
def test_several_days_still_get_the_week(practice: PracticeConfig, question: str) -> None:
    reply = texts(Conversation(practice, TUESDAY_DEC_1_10AM).say(question))
    assert reply.startswith("Hours this week at Hawthorne:\nTue Dec 1: 8am-5pm")
    assert reply.count("\n") == 8


def test_tomorrow_across_spring_forward_is_the_next_local_day(practice: PracticeConfig) -> None:
    # 11:30pm Saturday Mar 7 2026, PST: 24 hours later is already Monday 00:30 PDT, but tomorrow is Sunday
    result = Conversation(practice, local(2026, 3, 7, 23, 30)).say("are you open tomorrow")
    assert texts(result).startswith(
        "We're closed tomorrow, Sunday, Mar 8. We open again Monday at 8am (St. Johns at 8:30am)."
    )


def test_a_weekday_across_fall_back_keeps_wall_clock_hours(practice: PracticeConfig) -> None:
    # asked Friday Oct 30 2026 (PDT) about Monday Nov 2 (PST, after the change on Sunday Nov 1)
    result = Conversation(practice, local(2026, 10, 30, 18, 0)).say("r u open monday")
    assert texts(result).startswith("Monday, Nov 2:\nHawthorne: open 8am-5pm\nSt. Johns: open 8:30am-5pm\n")


def test_the_week_across_spring_forward_lists_wall_clock_hours(practice: PracticeConfig) -> None:
    reply = texts(Conversation(practice, local(2026, 3, 6, 9, 0)).say("hours this week?"))
    assert "Sun Mar 8: closed\nMon Mar 9: 8am-5pm" in reply


def test_a_holiday_on_a_weekend_names_the_weekday_it_is_observed(practice: PracticeConfig) -> None:
    # July 4 2026 is a Saturday; the practice closes on Friday July 3 instead
    result = Conversation(practice, local(2026, 6, 29, 10, 0)).say("are you open on the 4th of july?")
    assert texts(result) == (
        "Saturday, Jul 4 (Independence Day): we're closed. We're also closed Friday, Jul 3 "
        "for the holiday. We open again Monday, Jul 6 at 8am (St. Johns at 8:30am)."
    )


def test_the_observed_weekday_itself_says_why_it_is_closed(practice: PracticeConfig) -> None:
    result = Conversation(practice, local(2026, 6, 29, 10, 0)).say("are you open friday")
    assert texts(result).startswith(
        "Friday, Jul 3 (Independence Day, observed): we're closed. We open again Monday, Jul 6 at 8am "
        "(St. Johns at 8:30am)."
    )


def test_a_day_asked_by_voice_gets_the_spoken_wording(practice: PracticeConfig) -> None:
    call = Conversation(practice, TUESDAY_DEC_1_10AM, channel=Channel.VOICE)
    assert texts(call.say("are you open saturday")) == (
        "On Saturday, Dec 5, we are closed. We open again Monday at 8am, and St. Johns opens at 8:30am. "
        "If this is an emergency, call 9 1 1."
    )


# --- one location when the message names one ----------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("where is your st johns clinic", "Riverbend St. Johns: 8520 N Lombard St, Portland, OR 97203"),
        (
            "parking at hawthorne?",
            "Riverbend Hawthorne: Free parking in the lot behind the building. Enter from SE 23rd Ave.",
        ),
        (
            "directions to the lombard office",
            "Riverbend St. Johns: On N Lombard near the St. Johns Bridge. Bus 4 and 75 stop a block away.",
        ),
        (
            "whats the phone number for the st johns office",
            "You can call Riverbend St. Johns at (503) 555-0120.",
        ),
        ("fax number for st johns?", "The fax number for Riverbend St. Johns is (503) 555-0121."),
    ],
)
def test_a_named_location_gets_its_own_answer_only(chat: Conversation, question: str, answer: str) -> None:
    assert texts(chat.say(question)) == answer


@pytest.mark.parametrize("question", ["where is your office", "where do i park", "directions please"])
def test_no_named_location_lists_both(chat: Conversation, question: str) -> None:
    reply = texts(chat.say(question))
    assert "Riverbend Hawthorne:" in reply
    assert "Riverbend St. Johns:" in reply


def test_the_main_number_when_no_location_is_named(chat: Conversation) -> None:
    assert texts(chat.say("whats your phone number")) == "You can call us at (503) 555-0100."


# --- hours for each office -----------------------------------------------------------------------------

WEDNESDAY_DEC_23_10AM = local(2026, 12, 23, 10, 0)


@pytest.mark.parametrize(
    ("at", "question", "answer"),
    [
        (
            TUESDAY_DEC_1_10AM,
            "is St. Johns open Wednesday?",
            "St. Johns: We're closed tomorrow, Wednesday, Dec 2. We open again Thursday at 8:30am.",
        ),
        (
            WEDNESDAY_DEC_23_10AM,
            "is the st johns office open today",
            "St. Johns: We're closed now. We open tomorrow at 8:30am.",
        ),
        (
            TUESDAY_DEC_1_10AM,
            "is the hawthorne office open wednesday",
            "Hawthorne: Tomorrow, Wednesday, Dec 2, we're open 8am-5pm.",
        ),
        (
            TUESDAY_DEC_1_10AM,
            "what time does lombard open on monday",
            "St. Johns: Monday, Dec 7: we're open 8:30am-5pm.",
        ),
        (
            local(2026, 12, 22, 8, 10),
            "is st johns open yet",
            "St. Johns: We open today at 8:30am and close at 5pm.",
        ),
        (
            TUESDAY_DEC_1_10AM,
            "st johns open christmas eve?",
            "St. Johns: Thursday, Dec 24 (Christmas Eve): we're open 8:30am-12pm.",
        ),
    ],
)
def test_a_named_office_is_answered_from_its_own_hours(
    practice: PracticeConfig, at: datetime, question: str, answer: str
) -> None:
    reply = texts(Conversation(practice, at).say(question))
    assert reply.startswith(answer)
    other_office = "St. Johns" if answer.startswith("Hawthorne") else "Hawthorne"
    assert other_office not in reply


def test_a_holiday_closes_both_offices_and_each_says_when_it_reopens(practice: PracticeConfig) -> None:
    christmas = local(2026, 12, 25, 9, 0)
    assert texts(Conversation(practice, christmas).say("are you open today?")).startswith(
        "We're closed today (Christmas Day). We open Monday at 8am (St. Johns at 8:30am)."
    )
    assert texts(Conversation(practice, christmas).say("is st johns open today?")).startswith(
        "St. Johns: We're closed today (Christmas Day). We open Monday at 8:30am."
    )


def test_open_now_when_any_office_is_open_says_which(practice: PracticeConfig) -> None:
    result = Conversation(practice, WEDNESDAY_DEC_23_10AM).say("are you open right now?")
    assert texts(result) == (
        "Our offices today:\n"
        "Hawthorne: open now until 5pm\n"
        "St. Johns: closed today, opens tomorrow at 8:30am\n"
        "Call (503) 555-0100 or text PERSON to reach our team."
    )
    assert result.timeline[-1].data["message_key"] == "hours_today_by_office"


def test_both_offices_open_now_but_closing_at_different_times(practice: PracticeConfig) -> None:
    thursday_10am = local(2026, 12, 3, 10, 0)
    assert texts(Conversation(practice, thursday_10am).say("what time do you close today")).startswith(
        "Our offices today:\nHawthorne: open now until 7pm\nSt. Johns: open now until 5pm\n"
    )


def test_offices_that_agree_are_answered_once(chat: Conversation) -> None:
    # Tuesday 10am: both offices are open until 5pm, so no office needs a line of its own
    assert texts(chat.say("are you open now")).startswith("We're open now until 5pm today.")


def test_an_unnamed_question_on_a_day_the_hours_differ_gives_each_office(practice: PracticeConfig) -> None:
    reply = texts(Conversation(practice, TUESDAY_DEC_1_10AM).say("are you open wednesday?"))
    assert reply == (
        "Tomorrow, Wednesday, Dec 2:\n"
        "Hawthorne: open 8am-5pm\n"
        "St. Johns: closed\n"
        "Call (503) 555-0100 or text PERSON to reach our team."
    )
    assert "we're open 8am-5pm" not in reply  # never one office's hours as the practice's


def test_the_week_lists_the_main_office_and_how_st_johns_differs(practice: PracticeConfig) -> None:
    reply = texts(Conversation(practice, TUESDAY_DEC_1_10AM).say("what are your hours this week"))
    assert reply.startswith("Hours this week at Hawthorne:\nTue Dec 1: 8am-5pm\nWed Dec 2: 8am-5pm\n")
    assert reply.endswith("\nSt. Johns differs: Mon, Tue, Thu 8:30am-5pm; Wed closed; Fri 8:30am-4pm")


def test_a_named_offices_week_is_its_own(practice: PracticeConfig) -> None:
    reply = texts(Conversation(practice, TUESDAY_DEC_1_10AM).say("st johns hours this week?"))
    assert reply.startswith("St. Johns: Our hours this week:\nTue Dec 1: 8:30am-5pm\nWed Dec 2: closed\n")
    assert "differs" not in reply


@pytest.mark.parametrize(
    ("at", "question"),
    [
        (TUESDAY_DEC_1_10AM, "what are your hours this week"),
        (local(2026, 12, 21, 10, 0), "what are your hours this week"),
        (TUESDAY_DEC_1_10AM, "are you open christmas eve"),
        (WEDNESDAY_DEC_23_10AM, "are you open now"),
        (local(2026, 3, 5, 17, 30), "are you open late on thursdays?"),
        (local(2026, 6, 29, 10, 0), "are you open on the 4th of july?"),
        (local(2026, 12, 22, 18, 30), "are you open today?"),
    ],
)
def test_per_office_answers_stay_gsm7_within_two_segments(
    practice: PracticeConfig, at: datetime, question: str
) -> None:
    reply = texts(Conversation(practice, at).say(question))
    assert is_gsm7(reply)
    assert sms_segments(reply) <= 2


def test_per_office_answers_by_voice_are_spoken_sentences(practice: PracticeConfig) -> None:
    call = Conversation(practice, WEDNESDAY_DEC_23_10AM, channel=Channel.VOICE)
    assert texts(call.say("are you open right now")) == (
        "Our offices keep different hours today. Hawthorne is open now, until 5pm. "
        "St. Johns is closed today, and opens tomorrow at 8:30am."
    )


def test_a_one_office_practice_keeps_the_plain_answer(practice: PracticeConfig) -> None:
    one_office = practice.model_copy(update={"locations": (practice.location("hawthorne"),)})
    reply = texts(Conversation(one_office, TUESDAY_DEC_1_10AM).say("are you open tomorrow"))
    assert reply.startswith("Tomorrow, Wednesday, Dec 2, we're open 8am-5pm.")
    saturday = texts(Conversation(one_office, TUESDAY_DEC_1_10AM).say("open on saturday?"))
    assert saturday.startswith("Saturday, Dec 5: we're closed. We open again Monday at 8am.")


def test_an_emergency_with_crisis_signs_gets_911_and_988(chat: Conversation) -> None:
    result = chat.say("i took all my pills and i want to die")
    reply = texts(result)
    assert "911" in reply
    assert "988" in reply
    [escalation] = result.escalations
    assert (escalation.reason, escalation.urgency) == (EscalationReason.EMERGENCY, Urgency.EMERGENCY)
