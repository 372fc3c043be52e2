"""Replies to a reminder text act on exactly the visit it named: C confirms (recorded in the EHR and
the outcomes, no date of birth asked), R starts the reschedule dialog for that visit behind the
identity gate, X cancels after a YES; STOP and a whole-message CANCEL still opt out."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from careline.config import PracticeConfig
from careline.conversation.model import Channel
from careline.ehr.model import AppointmentStatus

from tests.unit.fakes import local
from tests.unit.texting import (
    VISIT,
    WEN_VISIT,
    Practice,
    TextingPatient,
    status_of,
)

CONFIRMED = "Thank you! Your visit Thu Dec 10 at 11am is confirmed."
CANCEL_QUESTION = "Cancel your visit Thu Dec 10 at 11am? Reply YES to cancel or NO to keep it."


@pytest.fixture
def practice(practice: PracticeConfig) -> Practice:
    return Practice(practice)


@pytest.fixture
def rosalind(practice: Practice) -> TextingPatient:
    patient = TextingPatient(practice)
    patient.reminded()
    return patient


# --- confirm ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        "C",
        "c",
        "confirm",
        "Confirmed!",
        "yes",
        "Y",
        "yes I'll be there",
        "yep see you then",
        "Yes, we'll be there. Thanks for the reminder!",
        "ok see you thursday at 11",
        "\N{THUMBS UP SIGN}",
        # longer than the lexicon: read loosely, nothing in them says otherwise
        "omg totally forgot about it, yes I'll be there!!",
        "yes see you thursday, thanks so much!",
    ],
)
def test_a_confirming_reply_confirms_the_reminders_visit_without_asking_a_date_of_birth(
    rosalind: TextingPatient, practice: Practice, reply: str
) -> None:
    answer = rosalind.says(reply)
    assert answer.startswith(CONFIRMED)
    assert "date of birth" not in answer
    assert practice.ehr.confirmed == [VISIT.id]
    assert practice.changes.reported == [("confirmed", (VISIT.id,))]
    [event] = [e for e in rosalind.events() if e.event == "appointment_confirmed"]
    assert event.data == {"appointment_id": VISIT.id}
    [(patient, summary, channel, _)] = practice.ehr.communications
    assert (patient, channel) == (VISIT.patient_id, "sms")
    assert summary == "Confirmed by text, in reply to a reminder: Thu Dec 10 at 11am."
    assert "reminder" not in rosalind.context.flow_state


def test_after_acting_the_scope_is_gone_and_a_second_c_is_an_ordinary_message(
    rosalind: TextingPatient, practice: Practice
) -> None:
    rosalind.says("C")
    assert "date of birth" in rosalind.says("C")
    assert practice.ehr.confirmed == [VISIT.id]


def test_the_reply_names_the_visit_on_the_patients_own_clock(rosalind: TextingPatient) -> None:
    rosalind.context.flow_state["reminder"]["zone"] = "America/Denver"
    assert rosalind.says("C").startswith("Thank you! Your visit Thu Dec 10 at 12pm is confirmed.")


# --- reschedule -------------------------------------------------------------------------------------


@pytest.mark.parametrize("reply", ["R", "r", "reschedule", "can I move it", "can we do a different day?"])
def test_r_verifies_then_offers_new_times_for_that_visit_without_asking_which(
    rosalind: TextingPatient, practice: Practice, reply: str
) -> None:
    # a second visit booked too: the reminder already said which one to move
    practice.ehr.appointments.append(
        replace(VISIT, id="appt-2", start=local(2027, 1, 5, 9), end=local(2027, 1, 5, 9, 20))
    )
    assert "date of birth" in rosalind.says(reply)
    offers = rosalind.says("3/14/1984")
    assert offers.startswith("Open times:\n1) Tue Dec 1 9:30am Dr. Chen")
    assert "Which visit" not in offers
    assert "Move this one" not in offers
    assert "Book Tue Dec 1 9:30am with Dr. Chen" in rosalind.says("1")
    done = rosalind.says("yes")
    assert "now booked Tue Dec 1 9:30am with Dr. Chen" in done
    assert "Thu Dec 10 11am with Dr. Chen at Hawthorne is cancelled" in done
    assert status_of(practice, VISIT.id) is AppointmentStatus.CANCELLED
    assert status_of(practice, "appt-2") is AppointmentStatus.BOOKED
    [(change, (old, new))] = practice.changes.reported
    assert (change, old) == ("rescheduled", VISIT.id)
    assert new != VISIT.id
    assert "reminder" not in rosalind.context.flow_state


def test_r_with_a_day_offers_times_on_that_day(rosalind: TextingPatient) -> None:
    rosalind.says("R friday")
    assert "1) Fri Dec 4 3pm Dr. Chen" in rosalind.says("3/14/1984")


def test_r_for_a_visit_that_moved_meanwhile_lists_the_visits_the_patient_holds(
    rosalind: TextingPatient, practice: Practice
) -> None:
    practice.ehr.appointments[0] = replace(VISIT, status=AppointmentStatus.CANCELLED)
    rosalind.says("R")
    assert "I don't see any upcoming visits" in rosalind.says("3/14/1984")


# --- cancel -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        "X",
        "x",
        "cancel it",
        "I can't make it",
        "sorry, can't make it tomorrow",
        # longer: the cancel is asked back before anything happens
        "ugh something came up at work, I can't make it",
        "I need to cancel my appointment please, my car broke down",
    ],
)
def test_x_asks_first_then_yes_cancels_the_visit(
    rosalind: TextingPatient, practice: Practice, reply: str
) -> None:
    assert rosalind.says(reply) == CANCEL_QUESTION
    assert practice.ehr.cancel_reasons == {}
    answer = rosalind.says("YES")
    assert answer.startswith("Your visit Thu Dec 10 at 11am is cancelled.")
    assert status_of(practice, VISIT.id) is AppointmentStatus.CANCELLED
    assert practice.ehr.cancel_reasons == {
        VISIT.id: "Cancelled by the patient by text, in reply to a reminder"
    }
    assert practice.changes.reported == [("cancelled", (VISIT.id,))]
    assert "appointment_cancelled" in rosalind.event_names()
    assert "reminder" not in rosalind.context.flow_state


@pytest.mark.parametrize("answer", ["NO", "no", "keep it", "no don't cancel"])
def test_no_to_the_cancel_question_keeps_the_visit(
    rosalind: TextingPatient, practice: Practice, answer: str
) -> None:
    rosalind.says("X")
    assert rosalind.says(answer) == "OK, your visit Thu Dec 10 at 11am stays as it is. See you then."
    assert status_of(practice, VISIT.id) is AppointmentStatus.BOOKED
    assert practice.changes.reported == []
    assert "reminder" not in rosalind.context.flow_state


def test_c_to_the_cancel_question_confirms_instead(rosalind: TextingPatient, practice: Practice) -> None:
    rosalind.says("X")
    assert rosalind.says("actually C").startswith(CONFIRMED)
    assert status_of(practice, VISIT.id) is AppointmentStatus.BOOKED


def test_a_cancel_question_left_unanswered_lapses_and_a_later_yes_cancels_nothing(
    rosalind: TextingPatient, practice: Practice
) -> None:
    rosalind.says("X")
    assert "Riverbend" in rosalind.says("what's your address?")
    rosalind.says("yes")
    assert status_of(practice, VISIT.id) is AppointmentStatus.BOOKED
    assert practice.ehr.confirmed == []
    assert "reminder" not in rosalind.context.flow_state


def test_a_whole_message_cancel_is_still_the_carrier_opt_out(
    rosalind: TextingPatient, practice: Practice
) -> None:
    assert "no more texts" in rosalind.says("CANCEL")
    assert rosalind.context.opted_out
    assert status_of(practice, VISIT.id) is AppointmentStatus.BOOKED
    assert "reminder" not in rosalind.context.flow_state


def test_stop_opts_out_and_a_reply_after_start_acts_on_no_visit(
    rosalind: TextingPatient, practice: Practice
) -> None:
    rosalind.says("STOP")
    assert rosalind.context.opted_out
    rosalind.says("START")
    assert "date of birth" in rosalind.says("C")
    assert practice.ehr.confirmed == []


# --- what a reminder reply is not -------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply", ["I can't confirm yet, will let you know", "yes but can I come 15 min late?"]
)
def test_a_negated_or_questioning_yes_confirms_nothing(
    rosalind: TextingPatient, practice: Practice, reply: str
) -> None:
    assert not rosalind.says(reply).startswith(CONFIRMED)
    assert practice.changes.reported == []


def test_unclear_text_goes_to_the_ordinary_dialogs_and_the_reminder_still_waits(
    rosalind: TextingPatient, practice: Practice
) -> None:
    assert "Riverbend" in rosalind.says("where do I park?")
    assert "reminder" in rosalind.context.flow_state
    assert rosalind.says("C").startswith(CONFIRMED)


def test_a_reply_after_the_visit_started_is_an_ordinary_message(
    rosalind: TextingPatient, practice: Practice
) -> None:
    practice.clock.at = VISIT.start + timedelta(minutes=1)
    assert "date of birth" in rosalind.says("C")
    assert practice.ehr.confirmed == []
    assert "reminder" not in rosalind.context.flow_state


def test_while_staff_own_the_conversation_a_reply_stays_silent(
    rosalind: TextingPatient, practice: Practice
) -> None:
    rosalind.context.human_owner = "agent-7"
    assert rosalind.says("C") == ""
    assert practice.ehr.confirmed == []
    assert "reminder" in rosalind.context.flow_state


def test_on_a_call_yes_is_no_reminder_reply(rosalind: TextingPatient, practice: Practice) -> None:
    rosalind.says("yes", channel=Channel.VOICE)
    assert practice.ehr.confirmed == []
    assert "reminder" in rosalind.context.flow_state


def test_a_question_asked_after_the_reminder_gets_the_yes_not_the_reminder(
    rosalind: TextingPatient, practice: Practice
) -> None:
    rosalind.verified("I want to book a follow-up with Dr. Chen next tuesday")
    assert rosalind.says("1").startswith("Book Tue Dec 8 11am with Dr. Chen")
    assert "You're booked" in rosalind.says("yes")
    assert practice.ehr.confirmed == []
    assert "reminder" in rosalind.context.flow_state


def test_a_flow_left_waiting_before_the_reminder_gives_way_to_the_reply(
    rosalind: TextingPatient, practice: Practice
) -> None:
    rosalind.context.flow_state.pop("reminder")
    rosalind.verified("I want to book an appointment")
    practice.clock.advance(timedelta(days=1))
    rosalind.reminded(sent=timedelta(hours=2))
    assert rosalind.says("C").startswith(CONFIRMED)
    assert rosalind.context.active_flow is None


def test_a_visit_cancelled_since_the_reminder_is_said_to_be_off_the_schedule(
    rosalind: TextingPatient, practice: Practice
) -> None:
    practice.ehr.appointments[0] = replace(VISIT, status=AppointmentStatus.CANCELLED)
    assert "no longer on our schedule" in rosalind.says("C")
    assert practice.changes.reported == []


def test_an_ehr_outage_hands_the_reply_to_the_front_desk(
    rosalind: TextingPatient, practice: Practice
) -> None:
    practice.ehr.down = True
    assert "scheduling system isn't answering" in rosalind.says("C")
    [escalation] = rosalind.last.escalations
    assert escalation.reason.value == "ehr_unavailable"


def test_a_failed_outcome_report_does_not_fail_the_confirmation(
    rosalind: TextingPatient, practice: Practice
) -> None:
    practice.changes.fail = True
    assert rosalind.says("C").startswith(CONFIRMED)
    assert practice.ehr.confirmed == [VISIT.id]


def test_another_patients_reminder_on_the_same_number_acts_on_that_visit(practice: Practice) -> None:
    # a parent's number gets the child's reminders: the reply is about the visit the text named
    parent = TextingPatient(practice)
    parent.reminded(WEN_VISIT)
    assert parent.says("C").startswith("Thank you! Your visit Mon Dec 14 at 9am is confirmed.")
    assert practice.ehr.confirmed == [WEN_VISIT.id]


# --- the appointment dialogs report every change, reminder or not ---------------------------------


def test_a_confirmation_by_request_is_recorded_in_the_ehr_and_reported(practice: Practice) -> None:
    patient = TextingPatient(practice)
    assert "You're confirmed: Thu Dec 10 11am" in patient.verified("confirming my appointment")
    assert practice.ehr.confirmed == [VISIT.id]
    assert practice.changes.reported == [("confirmed", (VISIT.id,))]


def test_a_cancellation_by_request_is_reported(practice: Practice) -> None:
    patient = TextingPatient(practice)
    patient.verified("I need to cancel my appointment")
    patient.says("yes")
    patient.says("skip")
    assert practice.changes.reported == [("cancelled", (VISIT.id,))]


def test_a_reschedule_by_request_is_reported(practice: Practice) -> None:
    patient = TextingPatient(practice)
    patient.verified("I need to reschedule my appointment")
    patient.says("yes")
    patient.says("tuesday")
    patient.says("1")
    patient.says("yes")
    [(change, (old, _))] = practice.changes.reported
    assert (change, old) == ("rescheduled", VISIT.id)
