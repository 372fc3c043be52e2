"""One patient on text and on the phone: the same conversation, whichever channel a turn comes in on.

Calls prove identity again; a flow left open by text is offered back on the call once the caller is
verified; "text me the options" carries a call's offers into the SMS thread, where the flow goes on.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from careline.config import PracticeConfig
from careline.conversation.engine import ConversationEngine
from careline.conversation.model import (
    Channel,
    ConversationContext,
    InboundMessage,
    TimelineKind,
    TurnResult,
)
from careline.conversation.patient_flows import PatientFlows
from careline.conversation.service import TurnService
from careline.ehr.model import AppointmentStatus, PatientRecord
from careline.identity import IdentityVerifier, InMemoryVerificationLedger

from tests.unit.fakes import (
    PORTLAND,
    FakePartyKeys,
    FakeSubjectKeys,
    FixedClock,
    InMemoryContextStore,
    InMemoryEhr,
    RecordingEventBus,
    RecordingMessenger,
    local,
)
from tests.unit.test_appointment_dialogs import (
    CHEN,
    EXISTING,
    MONDAY_10AM,
    OKAFOR,
    PATIENT,
    PRACTICE_NUMBER,
    REYES,
    ROSALIND,
    free_slots,
)

_ids = itertools.count(1)


class Phone:
    """One patient's phone: texts and calls into one engine, the context carried like the store would."""

    def __init__(self, practice: PracticeConfig, ehr: InMemoryEhr) -> None:
        self.clock = FixedClock(MONDAY_10AM)
        self.ehr = ehr
        verifier = IdentityVerifier(
            ehr, InMemoryVerificationLedger(), self.clock, FakeSubjectKeys(), timezone=PORTLAND
        )
        self.engine = ConversationEngine(practice, self.clock, ehr=ehr, verifier=verifier)
        self.context = ConversationContext(party_id="party-1", phone=PATIENT)
        self.results: list[TurnResult] = []
        self.call_id: str | None = None

    def _turn(self, channel: Channel, text: str) -> TurnResult:
        inbound = InboundMessage(
            message_id=f"m-{next(_ids)}",
            channel=channel,
            from_number=PATIENT,
            to_number=PRACTICE_NUMBER,
            text=text,
            received_at=self.clock.now(),
            session_id=self.call_id if channel is Channel.VOICE else None,
        )
        result = self.engine.take_turn(inbound, self.context)
        self.context = result.context
        self.results.append(result)
        return result

    def texts(self, text: str) -> str:
        return "\n".join(r.text for r in self._turn(Channel.SMS, text).replies)

    def call(self) -> None:
        self.call_id = f"contact-{next(_ids)}"

    def says(self, text: str) -> str:
        """What the caller hears (the spoken replies) for one utterance on the current call."""
        assert self.call_id is not None, "call() first"
        result = self._turn(Channel.VOICE, text)
        return " ".join(r.text for r in result.replies if r.channel is Channel.VOICE)

    @property
    def last(self) -> TurnResult:
        return self.results[-1]

    def texted_last_turn(self) -> list[str]:
        return [r.text for r in self.last.replies if r.channel is Channel.SMS]

    def events(self) -> list[str]:
        return [e.event for r in self.results for e in r.timeline if e.kind is TimelineKind.EVENT and e.event]


@pytest.fixture
def phone(practice: PracticeConfig) -> Phone:
    ehr = InMemoryEhr(
        patients=[ROSALIND], staff=[CHEN, OKAFOR, REYES], slots=free_slots(), appointments=[EXISTING]
    )
    return Phone(practice, ehr)


def _start_reschedule_by_text(phone: Phone) -> None:
    assert "date of birth" in phone.texts("I need to reschedule my appointment")
    assert "Move this one?" in phone.texts("3/14/1984")
    assert "What day and time" in phone.texts("yes")
    offers = phone.texts("tuesday")
    assert "1) Tue Dec 1 9:30am Dr. Chen" in offers


def test_a_reschedule_started_by_text_is_offered_back_on_the_call_once_verified(phone: Phone) -> None:
    _start_reschedule_by_text(phone)
    phone.clock.advance(timedelta(minutes=20))
    phone.call()

    first = phone.says("hi, I was texting you about my appointment")
    assert "Welcome back" in first
    assert "date of birth" in first
    assert "Dec" not in first, "nothing about the visit before verification"
    assert "Chen" not in first

    resumed = phone.says("march fourteenth nineteen eighty four")
    assert "I see you were moving your visit on Thursday, December 10 at 11am" in resumed
    assert "Shall we finish that?" in resumed
    assert "flow_resume_offered" in phone.events()

    offers = phone.says("yes please")
    assert "The first is Tuesday, December 1 at 9:30am, with Dr. Chen." in offers

    confirm = phone.says("the first one")
    assert "Shall I book" in confirm
    done = phone.says("yes")
    assert "You're now booked" in done
    moved = [a for a in phone.ehr.appointments if a.patient_id == ROSALIND.id]
    assert [a.status for a in moved].count(AppointmentStatus.BOOKED) == 1
    assert phone.ehr.communications[-1][1].startswith("Rescheduled by phone to")


def test_a_call_proves_identity_again_even_right_after_a_verified_text(phone: Phone) -> None:
    phone.texts("when is my appointment")
    assert "Thu Dec 10 11am" in phone.texts("3/14/1984")
    phone.call()
    reply = phone.says("when is my appointment")
    assert "date of birth" in reply
    assert "December" not in reply
    assert "Thursday, December 10 at 11am" in phone.says("03141984")


def test_a_caller_who_declines_the_old_flow_is_not_held_to_it(phone: Phone) -> None:
    _start_reschedule_by_text(phone)
    phone.call()
    phone.says("hello")
    assert "Shall we finish that?" in phone.says("3/14/1984")
    assert "nothing was changed" in phone.says("no thanks")
    assert phone.context.active_flow is None
    assert EXISTING.id in {a.id for a in phone.ehr.appointments if a.status is AppointmentStatus.BOOKED}


def test_a_flow_left_a_day_ago_is_let_go_when_the_patient_calls(phone: Phone) -> None:
    _start_reschedule_by_text(phone)
    phone.clock.advance(timedelta(days=2))
    phone.call()
    reply = phone.says("what time do you close today")
    assert "Welcome back" not in reply
    assert phone.context.active_flow is None


def test_a_practice_question_at_the_start_of_the_call_is_answered_and_the_flow_waits(phone: Phone) -> None:
    _start_reschedule_by_text(phone)
    phone.call()
    reply = phone.says("where do I park")
    assert "park" in reply.lower()
    assert "Welcome back" in phone.says("ok, about my appointment")


def test_text_me_the_options_sends_the_offers_by_sms_and_a_texted_number_books(phone: Phone) -> None:
    phone.call()
    assert "date of birth" in phone.says("I'd like to move my appointment")
    assert "Is that the one to move?" in phone.says("0 3 1 4 1 9 8 4")
    phone.says("yes")
    assert "The first is" in phone.says("next tuesday morning")

    spoken = phone.says("can you just text me the options")
    assert "texted you the options" in spoken
    (texted,) = phone.texted_last_turn()
    assert "1) Tue Dec 8 11am Dr. Chen" in texted
    assert "continued_by_text" in phone.events()

    assert "Book Tue Dec 8 11am" in phone.texts("1")
    assert "now booked Tue Dec 8 11am" in phone.texts("yes")


def test_text_me_on_a_number_that_opted_out_of_texts_says_so_and_texts_nothing(phone: Phone) -> None:
    phone.texts("STOP")
    phone.call()
    phone.says("I want to reschedule my appointment")
    phone.says("3/14/1984")
    phone.says("yes")
    phone.says("tuesday")
    spoken = phone.says("text me those")
    assert "can't text this number" in spoken
    assert phone.texted_last_turn() == []


def test_stop_said_on_a_call_is_a_word_not_an_opt_out(phone: Phone) -> None:
    phone.call()
    phone.says("stop")
    assert phone.context.opted_out is False
    assert "opted_out" not in phone.events()


def test_a_patient_who_opted_out_of_texts_is_still_answered_on_a_call(phone: Phone) -> None:
    phone.texts("STOP")
    phone.call()
    assert "open" in phone.says("what are your hours today").lower()


def test_each_call_is_its_own_session_and_the_call_start_is_recorded_once(phone: Phone) -> None:
    phone.call()
    phone.says("hello")
    phone.says("what are your hours")
    phone.call()
    phone.says("hello again")
    assert phone.events().count("call_started") == 2


# --- one patient on two numbers: found by who they are, once verified --------------------------------

WORK_NUMBER = "+15035550199"


class TwoPhones:
    """The turn service over in-memory ports, so the store's record of where a patient's open flow
    lives is written and read the way the real one is."""

    def __init__(self, practice: PracticeConfig, ehr: InMemoryEhr) -> None:
        self.clock = FixedClock(MONDAY_10AM)
        self.ehr = ehr
        self.store = InMemoryContextStore()
        self.flows = PatientFlows(self.store, FakeSubjectKeys())
        verifier = IdentityVerifier(
            ehr, InMemoryVerificationLedger(), self.clock, FakeSubjectKeys(), timezone=PORTLAND
        )
        engine = ConversationEngine(
            practice, self.clock, ehr=ehr, verifier=verifier, flows_elsewhere=self.flows.context_holding
        )
        self.messenger = RecordingMessenger()
        self.service = TurnService(
            engine, self.store, FakePartyKeys(), self.messenger, RecordingEventBus(), self.clock, self.flows
        )

    def turn(self, number: str, channel: Channel, text: str, call: str | None = None) -> str:
        before = len(self.messenger.sent)
        inbound = InboundMessage(
            f"m-{next(_ids)}", channel, number, PRACTICE_NUMBER, text, self.clock.now(), session_id=call
        )
        self.service.handle(inbound)
        if channel is Channel.SMS:
            return "\n".join(body for _, body in self.messenger.sent[before:])
        return " ".join(r.text for r in self.service.spoken_replies(inbound) or [])


def test_a_flow_texted_from_one_number_is_found_when_the_patient_calls_from_another(
    practice: PracticeConfig,
) -> None:
    ehr = InMemoryEhr(
        patients=[ROSALIND], staff=[CHEN, OKAFOR, REYES], slots=free_slots(), appointments=[EXISTING]
    )
    phones = TwoPhones(practice, ehr)
    phones.turn(PATIENT, Channel.SMS, "I need to reschedule my appointment")
    phones.turn(PATIENT, Channel.SMS, "3/14/1984")
    phones.turn(PATIENT, Channel.SMS, "yes")
    assert "1) Tue Dec 1 9:30am Dr. Chen" in phones.turn(PATIENT, Channel.SMS, "tuesday")
    assert phones.store.open_flows == {
        phones.flows.key(ROSALIND.id): FakePartyKeys().party_for_phone(PATIENT)
    }

    phones.clock.advance(timedelta(hours=1))
    asked = phones.turn(WORK_NUMBER, Channel.VOICE, "I need to reschedule my appointment", call="c-1")
    assert "full name and your date of birth" in asked
    resumed = phones.turn(WORK_NUMBER, Channel.VOICE, "Rosalind Quenby, March 14 1984", call="c-1")
    assert "I see you were moving your visit on Thursday, December 10 at 11am" in resumed
    assert "The first is Tuesday, December 1" in phones.turn(WORK_NUMBER, Channel.VOICE, "yes", call="c-1")
    phones.turn(WORK_NUMBER, Channel.VOICE, "the first one", call="c-1")
    assert "now booked" in phones.turn(WORK_NUMBER, Channel.VOICE, "yes", call="c-1")
    booked = [a for a in ehr.appointments if a.status is AppointmentStatus.BOOKED]
    assert [a.start for a in booked if a.patient_id == ROSALIND.id] == [local(2026, 12, 1, 9, 30)]


def test_someone_else_verified_on_another_number_does_not_get_the_patients_flow(
    practice: PracticeConfig,
) -> None:
    other = PatientRecord("pat-ab", "Abel", "Brandt", date(1970, 1, 2), (WORK_NUMBER,))
    ehr = InMemoryEhr(
        patients=[ROSALIND, other], staff=[CHEN, OKAFOR, REYES], slots=free_slots(), appointments=[EXISTING]
    )
    phones = TwoPhones(practice, ehr)
    for text in ("I need to reschedule my appointment", "3/14/1984", "yes", "tuesday"):
        phones.turn(PATIENT, Channel.SMS, text)
    phones.turn(WORK_NUMBER, Channel.VOICE, "I need to reschedule my appointment", call="c-2")
    reply = phones.turn(WORK_NUMBER, Channel.VOICE, "01/02/1970", call="c-2")
    assert "December 10" not in reply
    assert "moving your visit" not in reply


def test_keypad_digits_pick_an_offered_time_on_a_call(phone: Phone) -> None:
    phone.call()
    phone.says("I want to reschedule my appointment")
    phone.says("03141984")
    phone.says("yes")
    offers = phone.says("any day this week or next")
    assert "The second is" in offers
    assert "Shall I book" in phone.says("2")
