"""Appointments by text, turn by turn: the identity gate, then book, reschedule, cancel, confirm and
status against an in-memory EHR, with slots taken, outages and changes of mind."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from careline.config import PracticeConfig
from careline.conversation.engine import ConversationEngine
from careline.conversation.model import (
    Channel,
    ConversationContext,
    EscalationReason,
    InboundMessage,
    Queue,
    Urgency,
)
from careline.ehr.model import AppointmentRecord, AppointmentStatus, FreeSlot, Practitioner
from careline.identity import IdentityVerifier, InMemoryVerificationLedger

from tests.unit.fakes import PORTLAND, FakeSubjectKeys, FixedClock, InMemoryEhr, local
from tests.unit.texting import (
    CHEN,
    MONDAY_10AM,
    OKAFOR,
    PRACTICE_NUMBER,
    ROSALIND,
    ROSALIND_PHONE,
    VISIT,
    TextingPhone,
    free_slot,
)

PATIENT = ROSALIND_PHONE
STRANGER = "+15035550199"
REYES = Practitioner("np-reyes", "Ana Reyes, FNP-C")
# Rosalind's booked visit: Thursday Dec 10, 11am, Dr. Chen at Hawthorne
EXISTING = VISIT
# What must never appear in a reply before the sender is verified.
PHI_WORDS = ("Rosalind", "Quenby", "Chen", "Okafor", "Reyes", "Dec", "11am", "Hawthorne")


def free_slots() -> list[FreeSlot]:
    return [
        free_slot("s-tue-930", CHEN, local(2026, 12, 1, 9, 30)),
        free_slot("s-tue-1400", OKAFOR, local(2026, 12, 1, 14, 0)),
        free_slot("s-wed-1000", CHEN, local(2026, 12, 2, 10, 0)),
        free_slot("s-thu-0900", REYES, local(2026, 12, 3, 9, 0), where="st-johns"),
        free_slot("s-fri-1500", CHEN, local(2026, 12, 4, 15, 0)),
        free_slot("s-mon-0830", OKAFOR, local(2026, 12, 7, 8, 30)),
        free_slot("s-tue2-1100", CHEN, local(2026, 12, 8, 11, 0)),
        free_slot("s-wed2-1600", REYES, local(2026, 12, 9, 16, 0), where="st-johns"),
        free_slot("s-phys-1", CHEN, local(2026, 12, 2, 13, 0), "annual-physical"),
    ]


class Patient(TextingPhone):
    """One phone texting an engine with the EHR and identity verification only (no waitlist, no
    outcome reports), on its own clock and verification ledger."""

    def __init__(self, practice: PracticeConfig, ehr: InMemoryEhr, phone: str = PATIENT) -> None:
        clock = FixedClock(MONDAY_10AM)
        self.ehr = ehr
        self.ledger = InMemoryVerificationLedger()
        verifier = IdentityVerifier(ehr, self.ledger, clock, FakeSubjectKeys(), timezone=PORTLAND)
        engine = ConversationEngine(practice, clock, ehr=ehr, verifier=verifier)
        super().__init__(engine, clock, phone, party_id="party-1")


@pytest.fixture
def ehr() -> InMemoryEhr:
    return InMemoryEhr(
        patients=[ROSALIND], staff=[CHEN, OKAFOR, REYES], slots=free_slots(), appointments=[EXISTING]
    )


@pytest.fixture
def rosalind(practice: PracticeConfig, ehr: InMemoryEhr) -> Patient:
    return Patient(practice, ehr)


def assert_no_phi(text: str) -> None:
    leaked = [word for word in PHI_WORDS if word in text]
    assert not leaked, f"disclosed before verification: {leaked} in {text!r}"


# --- the identity gate ----------------------------------------------------------------------------


def test_known_number_is_asked_for_date_of_birth_and_nothing_else_is_said(rosalind: Patient) -> None:
    reply = rosalind.says("when is my appointment")
    assert "date of birth" in reply
    assert_no_phi(reply)
    assert rosalind.ehr.calls == ["find_patients_by_phone"]


def test_wrong_date_of_birth_says_how_many_tries_are_left_and_discloses_nothing(rosalind: Patient) -> None:
    rosalind.says("when is my appt")
    reply = rosalind.says("1/1/1990")
    assert "doesn't match" in reply
    assert "2 tries left" in reply
    assert_no_phi(reply)
    assert "upcoming_appointments" not in rosalind.ehr.calls


def test_after_verification_the_pending_request_is_answered_without_asking_again(rosalind: Patient) -> None:
    reply = rosalind.verified("when is my appointment")
    assert "Thu Dec 10 11am with Dr. Chen at Hawthorne" in reply
    assert "identity_verified" in rosalind.event_names()
    assert rosalind.context.active_flow is None


def test_unknown_number_is_verified_by_name_and_date_of_birth(
    practice: PracticeConfig, ehr: InMemoryEhr
) -> None:
    stranger = Patient(practice, ehr, phone=STRANGER)
    first = stranger.says("when is my appointment")
    assert "full name and date of birth" in first
    assert "first and last name" in stranger.says("03-14-1984")
    reply = stranger.says("Rosalind Quenby")
    assert "Dec 10 11am" in reply


def test_three_wrong_answers_lock_verification_and_a_person_follows_up(rosalind: Patient) -> None:
    rosalind.says("can I book an appointment")
    rosalind.says("1/1/1990")
    rosalind.says("2/2/1990")
    reply = rosalind.says("3/3/1990")
    assert "front desk will follow up" in reply
    assert_no_phi(reply)
    (escalation,) = rosalind.last.escalations
    assert escalation.reason is EscalationReason.VERIFICATION_FAILED
    assert escalation.queue is Queue.FRONT_DESK
    assert rosalind.context.active_flow is None
    assert any(e.detail_type == "identity_fraud_signal" for e in rosalind.last.events)


@pytest.mark.parametrize("answer", ["3/14/1984", "Rosalind Quenby 3/14/1984", "march 14 1984"])
def test_a_date_of_birth_sent_while_locked_gets_the_locked_reply(rosalind: Patient, answer: str) -> None:
    rosalind.says("can I book an appointment")
    for wrong in ("1/1/1990", "2/2/1990", "3/3/1990"):
        rosalind.says(wrong)
    reply = rosalind.says(answer)
    assert "couldn't confirm who you are" in reply
    assert "front desk will follow up" in reply
    assert "another way" not in reply
    assert_no_phi(reply)
    assert rosalind.last.escalations == []  # the lockout's escalation is still open
    assert rosalind.context.failed_understandings == 0
    assert "upcoming_appointments" not in rosalind.ehr.calls


def test_once_the_lock_runs_out_a_date_of_birth_is_no_longer_met_with_the_locked_reply(
    rosalind: Patient,
) -> None:
    rosalind.says("can I book an appointment")
    for wrong in ("1/1/1990", "2/2/1990", "3/3/1990"):
        rosalind.says(wrong)
    rosalind.clock.advance(timedelta(hours=25))
    assert "couldn't confirm" not in rosalind.says("3/14/1984")


def test_a_patient_who_never_verifies_is_asked_again_and_told_nothing(rosalind: Patient) -> None:
    replies = [rosalind.says(text) for text in ("reschedule my appt pls", "umm why", "i dont remember")]
    assert "couldn't read that date" in replies[-1]
    for reply in replies:
        assert_no_phi(reply)
    assert not {"upcoming_appointments", "free_slots", "reschedule"} & set(rosalind.ehr.calls)


def test_ehr_down_during_verification_hands_the_request_to_the_front_desk(rosalind: Patient) -> None:
    rosalind.ehr.down = True
    reply = rosalind.says("I need to book an appointment")
    assert "scheduling system isn't answering" in reply
    (escalation,) = rosalind.last.escalations
    assert escalation.reason is EscalationReason.EHR_UNAVAILABLE
    assert "book an appointment" in escalation.summary


# --- book -----------------------------------------------------------------------------------------


def test_booking_asks_provider_then_offers_three_real_slots_then_books_on_yes(rosalind: Patient) -> None:
    reply = rosalind.verified("I need a follow up next week")
    assert "certain provider" in reply
    offers = rosalind.says("anyone is fine")
    assert offers.count(")") == 3
    assert "1) Mon Dec 7 8:30am Dr. Okafor" in offers
    confirm = rosalind.says("1")
    assert confirm == "Book Mon Dec 7 8:30am with Dr. Okafor at Hawthorne? Reply YES or NO."
    done = rosalind.says("yes")
    assert "You're booked: Mon Dec 7 8:30am with Dr. Okafor at Hawthorne" in done
    booked = rosalind.ehr.appointments[-1]
    assert (booked.patient_id, booked.slot_id, booked.appointment_type) == (
        ROSALIND.id,
        "s-mon-0830",
        "follow-up",
    )
    assert "appointment_booked" in rosalind.event_names()
    ((patient_id, summary, channel, _),) = rosalind.ehr.communications
    assert (patient_id, channel) == (ROSALIND.id, "sms")
    assert "Booked by text" in summary
    assert rosalind.context.active_flow is None


def test_booking_asks_what_the_visit_is_for_once_then_for_a_time(rosalind: Patient) -> None:
    assert "What is the visit for" in rosalind.verified("can I make an appointment")
    assert "certain provider" in rosalind.says("my yearly checkup")
    assert "What day and time" in rosalind.says("dr chen please")
    offers = rosalind.says("wednesday afternoon")
    assert "1) Wed Dec 2 1pm Dr. Chen" in offers  # the physical slot, the only one that fits


def test_a_visit_reason_that_fits_no_type_books_the_practices_follow_up(rosalind: Patient) -> None:
    rosalind.verified("need an appointment")
    rosalind.says("to talk about stuff")
    rosalind.says("Dr Chen")
    rosalind.says("tuesday morning")
    rosalind.says("1")
    rosalind.says("yes")
    assert rosalind.ehr.appointments[-1].appointment_type == "follow-up"


def test_none_of_those_offers_new_times_without_starting_over(rosalind: Patient) -> None:
    first = rosalind.verified("book a follow up with dr chen asap")
    assert "1) Tue Dec 1 9:30am Dr. Chen" in first
    again = rosalind.says("none of those")
    # Dr. Chen's one other follow-up time; never one already shown
    assert "1) Tue Dec 8 11am Dr. Chen" in again
    assert "Dec 1" not in again
    assert rosalind.context.flow_state["appointment"]["step"] == "pick"
    assert "Book Tue Dec 8 11am with Dr. Chen" in rosalind.says("1")


def test_later_offers_times_after_the_ones_shown(rosalind: Patient) -> None:
    rosalind.verified("book a follow up with dr chen asap")
    shown = rosalind.context.flow_state["appointment"]["offered"]
    last_shown = max(datetime.fromisoformat(s["start"]) for s in shown)
    rosalind.says("anything later?")
    for slot in rosalind.context.flow_state["appointment"]["offered"]:
        assert datetime.fromisoformat(slot["start"]) > last_shown


def test_a_slot_taken_between_offer_and_pick_gets_an_apology_and_fresh_times(rosalind: Patient) -> None:
    rosalind.verified("book a follow up with dr chen asap")
    rosalind.says("the 9:30")
    rosalind.ehr.taken_on_book.add("s-tue-930")
    reply = rosalind.says("yes")
    assert "someone just took that time" in reply
    assert "9:30am" not in reply
    assert rosalind.context.flow_state["appointment"]["step"] == "pick"
    rosalind.says("1")
    assert "You're booked" in rosalind.says("yes")


@pytest.mark.parametrize("answer", ["yes pls", "yes", "ok", "that works"])
def test_a_yes_to_the_only_time_offered_takes_that_time(rosalind: Patient, answer: str) -> None:
    offers = rosalind.verified("book a follow up with dr chen next tuesday")
    assert "1) Tue Dec 8 11am Dr. Chen" in offers
    assert "2)" not in offers
    confirm = rosalind.says(answer)
    assert confirm == "Book Tue Dec 8 11am with Dr. Chen at Hawthorne? Reply YES or NO."
    assert "You're booked: Tue Dec 8 11am with Dr. Chen" in rosalind.says("yes")
    assert rosalind.ehr.appointments[-1].slot_id == "s-tue2-1100"


def test_a_bare_yes_to_several_times_asks_which_and_keeps_the_offers(rosalind: Patient) -> None:
    rosalind.verified("book a follow up with dr chen asap")
    assert "which time" in rosalind.says("yes")
    assert rosalind.context.flow_state["appointment"]["step"] == "pick"
    assert "Book Wed Dec 2 10am with Dr. Chen" in rosalind.says("2")


def test_a_taken_slot_is_replaced_by_the_other_times_offered_that_are_still_free(rosalind: Patient) -> None:
    rosalind.verified("book a follow up with dr chen asap")
    rosalind.says("1")
    rosalind.ehr.taken_on_book.add("s-tue-930")
    reply = rosalind.says("yes")
    assert "1) Wed Dec 2 10am Dr. Chen\n2) Fri Dec 4 3pm Dr. Chen\n3) Tue Dec 8 11am Dr. Chen" in reply
    assert "9:30am" not in reply
    assert "Book Wed Dec 2 10am with Dr. Chen" in rosalind.says("1")


def test_an_ehr_outage_mid_booking_escalates_with_what_the_patient_wanted(rosalind: Patient) -> None:
    rosalind.verified("book a follow up with dr chen asap")
    rosalind.says("2")
    rosalind.ehr.down = True
    reply = rosalind.says("yes")
    assert "someone from our front desk will text you" in reply.lower()
    (escalation,) = rosalind.last.escalations
    assert (escalation.reason, escalation.urgency, escalation.queue) == (
        EscalationReason.EHR_UNAVAILABLE,
        Urgency.ROUTINE,
        Queue.FRONT_DESK,
    )
    assert "wants to book an appointment" in escalation.summary
    assert rosalind.context.active_flow is None


def test_saying_no_to_the_booking_asks_for_a_better_time(rosalind: Patient) -> None:
    rosalind.verified("book a follow up with dr chen asap")
    rosalind.says("1")
    assert "didn't book it" in rosalind.says("no")
    assert "Open times" in rosalind.says("friday afternoon")


def test_a_communication_write_back_failure_does_not_fail_the_booking(rosalind: Patient) -> None:
    rosalind.verified("book a follow up with dr chen asap")
    rosalind.says("1")
    rosalind.ehr.down_for.add("record_communication")
    assert "You're booked" in rosalind.says("yes")
    assert rosalind.last.escalations == []


# --- reschedule, cancel, confirm, status ----------------------------------------------------------


def test_reschedule_confirms_the_visit_then_books_the_new_time_and_cancels_the_old(rosalind: Patient) -> None:
    reply = rosalind.verified("need to reschedule my appt")
    assert "Your next visit is Thu Dec 10 11am with Dr. Chen at Hawthorne. Move this one?" in reply
    assert "What day and time" in rosalind.says("yes")
    offers = rosalind.says("next tuesday")
    assert "1) Tue Dec 8 11am Dr. Chen" in offers
    rosalind.says("1")
    done = rosalind.says("yes")
    assert "now booked Tue Dec 8 11am with Dr. Chen" in done
    assert "Thu Dec 10 11am with Dr. Chen at Hawthorne is cancelled" in done
    old = next(a for a in rosalind.ehr.appointments if a.id == EXISTING.id)
    assert old.status is AppointmentStatus.CANCELLED
    assert "appointment_rescheduled" in rosalind.event_names()
    assert len(rosalind.ehr.communications) == 1


@pytest.mark.parametrize(
    ("visit_start", "request_text"),
    [
        (local(2026, 12, 2, 11, 0), "hi i need to reschedule my appt wed"),
        (EXISTING.start, "hi i need to reschedule my appt thurs"),
        (EXISTING.start, "need to move my 11am appt on dec 10"),
    ],
)
def test_the_day_of_the_visit_being_moved_is_not_taken_as_the_new_time(
    rosalind: Patient, visit_start: datetime, request_text: str
) -> None:
    visit = replace(EXISTING, start=visit_start, end=visit_start + timedelta(minutes=20))
    rosalind.ehr.appointments[:] = [visit]
    assert "Move this one?" in rosalind.verified(request_text)
    assert "What day and time work best?" in rosalind.says("yes")
    assert "1) Fri Dec 4 3pm Dr. Chen" in rosalind.says("friday")


def test_a_new_day_named_with_the_reschedule_request_is_still_offered(rosalind: Patient) -> None:
    rosalind.verified("can i reschedule my appt to wed")
    assert "1) Wed Dec 2 10am Dr. Chen" in rosalind.says("yes")


def test_cancel_confirms_records_the_reason_and_offers_a_new_time(rosalind: Patient) -> None:
    assert "Cancel your visit Thu Dec 10 11am" in rosalind.verified("I need to cancel my appointment")
    assert "why" in rosalind.says("yes")
    reply = rosalind.says("my work schedule changed")
    assert "is cancelled" in reply
    assert "new time" in reply
    assert rosalind.ehr.cancel_reasons == {EXISTING.id: "my work schedule changed"}
    assert "appointment_cancelled" in rosalind.event_names()
    assert "What day and time" in rosalind.says("yes")


def test_cancel_reason_can_be_skipped_and_no_keeps_the_visit(rosalind: Patient) -> None:
    rosalind.verified("cancel my appt")
    assert "stays as it is" in rosalind.says("no")
    assert rosalind.ehr.cancel_reasons == {}
    rosalind.says("cancel my appt")
    rosalind.says("yes")
    rosalind.says("skip")
    assert "no reason given" in rosalind.ehr.cancel_reasons[EXISTING.id]


def test_several_upcoming_visits_are_listed_to_pick_from(rosalind: Patient) -> None:
    later = AppointmentRecord(
        "appt-2",
        ROSALIND.id,
        REYES.id,
        local(2027, 1, 5, 9),
        local(2027, 1, 5, 9, 20),
        AppointmentStatus.BOOKED,
    )
    rosalind.ehr.appointments.append(later)
    reply = rosalind.verified("cancel my appointment")
    assert "1) Thu Dec 10 11am Dr. Chen" in reply
    assert "2) Tue Jan 5 9am Ana Reyes" in reply
    assert "Cancel your visit Tue Jan 5 9am with Ana Reyes" in rosalind.says("the second one")


def test_confirm_records_the_confirmation_and_thanks_the_patient(rosalind: Patient) -> None:
    reply = rosalind.verified("yes I'll be there")
    assert "You're confirmed: Thu Dec 10 11am with Dr. Chen at Hawthorne" in reply
    assert "appointment_confirmed" in rosalind.event_names()
    [(_, summary, channel, _)] = rosalind.ehr.communications
    assert summary.startswith("Confirmed by text: Thu Dec 10 11am")
    assert channel == "sms"


def test_status_lists_the_visits_and_writes_the_contact_back(rosalind: Patient) -> None:
    reply = rosalind.verified("when is my appt")
    assert "Thu Dec 10 11am" in reply
    [(_, summary, _, _)] = rosalind.ehr.communications
    assert summary.startswith("Asked by text for upcoming visits")


def test_status_with_no_upcoming_visits_offers_to_book(rosalind: Patient) -> None:
    rosalind.ehr.appointments.clear()
    assert "no upcoming visits" in rosalind.verified("when is my appointment").replace("don't see any", "no")
    assert "What is the visit for" in rosalind.says("yes")


# --- mid-flow -------------------------------------------------------------------------------------


def test_actually_cancel_it_mid_booking_switches_to_cancelling(rosalind: Patient) -> None:
    rosalind.verified("book a follow up with dr chen asap")
    reply = rosalind.says("actually cancel it")
    assert "Cancel your visit Thu Dec 10 11am" in reply


def test_an_hours_question_mid_flow_is_answered_and_the_flow_kept(rosalind: Patient) -> None:
    rosalind.verified("book a follow up with dr chen asap")
    reply = rosalind.says("what are your hours today?")
    assert "open" in reply.lower()
    assert rosalind.context.flow_state["appointment"]["step"] == "pick"
    assert "Book Tue Dec 1 9:30am" in rosalind.says("1")


def test_talk_to_a_person_wins_mid_flow(rosalind: Patient) -> None:
    rosalind.says("book an appointment")
    rosalind.says("talk to a person")
    (escalation,) = rosalind.last.escalations
    assert escalation.reason is EscalationReason.HUMAN_REQUESTED
    assert rosalind.context.active_flow is None


def test_safety_comes_first_even_mid_flow(rosalind: Patient) -> None:
    rosalind.verified("book a follow up with dr chen asap")
    rosalind.says("I have crushing chest pain")
    assert rosalind.last.escalations[0].reason is EscalationReason.EMERGENCY
    assert rosalind.context.active_flow is None


def test_a_request_for_a_family_member_goes_to_a_person_after_verification(rosalind: Patient) -> None:
    rosalind.says("can i book an appt for my son")
    rosalind.says("3/14/1984")
    (escalation,) = rosalind.last.escalations
    assert (escalation.reason, escalation.queue) == (EscalationReason.HUMAN_REQUESTED, Queue.FRONT_DESK)
    assert "family member" in escalation.summary
    assert "free_slots" not in rosalind.ehr.calls


def test_without_the_ehr_wired_appointments_still_offer_a_person(practice: PracticeConfig) -> None:
    engine = ConversationEngine(practice, FixedClock(MONDAY_10AM))
    inbound = InboundMessage("m-x", Channel.SMS, PATIENT, PRACTICE_NUMBER, "book an appt", MONDAY_10AM)
    result = engine.take_turn(inbound, ConversationContext(party_id="p", phone=PATIENT))
    assert "can't book" in result.replies[0].text
