"""The waitlist by text: joining (verified, for the soonest visit) and leaving, and the answer to a
freed time's offer: the first yes gets it, a later yes is told kindly it is gone and stays on the
list, a no keeps the visit and the place."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from careline.config import PracticeConfig
from careline.ehr.model import AppointmentStatus
from careline.waitlist.model import FreedSlot, SlotState, WaitlistEntry

from tests.unit.texting import (
    FREED,
    ROSALIND,
    VISIT,
    WEN,
    WEN_PHONE,
    WEN_VISIT,
    Practice,
    TextingPatient,
    status_of,
)

FREED_KEY = FreedSlot.key_for(FREED.practitioner_id, FREED.start)
TAKEN = "Done! You're now booked Wed Dec 2 at 2pm with Dr. Chen at Hawthorne."
GONE = "Sorry, that time was just taken. Your visit stays as it is, and you're still on our waitlist."


@pytest.fixture
def practice(practice: PracticeConfig) -> Practice:
    return Practice(practice)


@pytest.fixture
def rosalind(practice: Practice) -> TextingPatient:
    return TextingPatient(practice)


def on_the_list(practice: Practice, patient_id: str, visit_id: str) -> None:
    visit = next(a for a in practice.ehr.appointments if a.id == visit_id)
    practice.waitlist.join(
        WaitlistEntry(
            patient_id,
            "+15035550142" if patient_id == ROSALIND.id else WEN_PHONE,
            visit.id,
            visit.practitioner_id,
            visit.start,
            practice.clock.now() - timedelta(days=3),
            visit.appointment_type,
        )
    )


# --- joining and leaving ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "request_text",
    [
        "put me on the waitlist",
        "Can you add me to the wait list?",
        "let me know if anything earlier opens up",
        "can I get in sooner if someone cancels",
    ],
)
def test_joining_verifies_then_waits_for_a_time_earlier_than_the_soonest_visit(
    rosalind: TextingPatient, practice: Practice, request_text: str
) -> None:
    reply = rosalind.verified(request_text)
    assert reply.startswith("You're on our waitlist.")
    assert "Thu Dec 10 11am stays booked" in reply
    entry = practice.waitlist.entry(ROSALIND.id)
    assert entry is not None
    assert (entry.appointment_id, entry.practitioner_id, entry.current_start) == (
        VISIT.id,
        VISIT.practitioner_id,
        VISIT.start,
    )
    assert (entry.phone, entry.appointment_type, entry.joined_at) == (
        rosalind.phone,
        "follow-up",
        practice.clock.now(),
    )
    [event] = [e for e in rosalind.events() if e.event == "waitlist_joined"]
    assert event.data == {"appointment_id": VISIT.id}
    [(_, summary, _, _)] = practice.ehr.communications
    assert summary.startswith("Joined the waitlist by text")


def test_nothing_is_said_about_the_visit_before_verification(
    rosalind: TextingPatient, practice: Practice
) -> None:
    reply = rosalind.says("put me on the waitlist")
    assert "date of birth" in reply
    assert "Dec" not in reply
    assert practice.waitlist.entry(ROSALIND.id) is None


def test_joining_with_no_upcoming_visit_offers_to_book(rosalind: TextingPatient, practice: Practice) -> None:
    practice.ehr.appointments.remove(VISIT)
    assert "I don't see any upcoming visits for you. Want to book one?" in rosalind.verified(
        "put me on the waitlist"
    )
    assert practice.waitlist.entry(ROSALIND.id) is None
    assert "What is the visit for" in rosalind.says("yes")


def test_without_a_waitlist_the_front_desk_takes_the_request(practice: Practice) -> None:
    patient = TextingPatient(practice, with_waitlist=False)
    reply = patient.says("put me on the waitlist please")
    assert "front desk" in reply
    assert "date of birth" not in reply
    [escalation] = patient.last.escalations
    assert "waitlist" in escalation.summary


def test_leaving_takes_the_patient_off_and_keeps_the_visit(
    rosalind: TextingPatient, practice: Practice
) -> None:
    rosalind.verified("put me on the waitlist")
    assert (
        rosalind.says("take me off the waitlist") == "OK, you're off our waitlist. Your visit stays as it is."
    )
    assert practice.waitlist.entry(ROSALIND.id) is None
    assert status_of(practice, VISIT.id) is AppointmentStatus.BOOKED
    assert "waitlist_left" in rosalind.event_names()


def test_leaving_when_not_on_the_list_says_so(rosalind: TextingPatient) -> None:
    assert "You're not on our waitlist" in rosalind.verified("remove me from the waitlist")


def test_asking_mid_flow_switches_to_the_waitlist(rosalind: TextingPatient, practice: Practice) -> None:
    assert "Move this one?" in rosalind.verified("I need to reschedule my appointment")
    assert rosalind.says("actually just put me on the waitlist").startswith("You're on our waitlist.")
    assert practice.waitlist.entry(ROSALIND.id) is not None


# --- answering an offer -------------------------------------------------------------------------------


@pytest.fixture
def offered(practice: Practice, rosalind: TextingPatient) -> TextingPatient:
    practice.free(FREED)
    on_the_list(practice, ROSALIND.id, VISIT.id)
    rosalind.offered(FREED, VISIT)
    return rosalind


@pytest.mark.parametrize(
    "answer", ["YES", "y", "Yes please!", "I'll take it", "yes, book it", "Yes please, I'd love that time!"]
)
def test_yes_moves_the_visit_into_the_freed_time(
    offered: TextingPatient, practice: Practice, answer: str
) -> None:
    reply = offered.says(answer)
    assert reply.startswith(TAKEN)
    assert "date of birth" not in reply
    assert status_of(practice, VISIT.id) is AppointmentStatus.CANCELLED
    [moved] = [a for a in practice.ehr.appointments if a.start == FREED.start]
    assert (moved.patient_id, moved.status) == (ROSALIND.id, AppointmentStatus.BOOKED)
    slot = practice.waitlist.slot(FREED_KEY)
    assert slot is not None
    assert (slot.state, slot.filled_by) == (SlotState.FILLED, ROSALIND.id)
    assert practice.waitlist.entry(ROSALIND.id) is None
    assert practice.changes.reported == [("rescheduled", (VISIT.id, moved.id))]
    [event] = [e for e in offered.events() if e.event == "waitlist_offer_taken"]
    assert event.data == {"appointment_id": moved.id, "previous_appointment_id": VISIT.id}
    assert "waitlist_offer" not in offered.context.flow_state


def test_two_patients_racing_for_one_time_the_second_yes_is_told_it_is_gone(practice: Practice) -> None:
    practice.free(FREED)
    on_the_list(practice, ROSALIND.id, VISIT.id)
    on_the_list(practice, WEN.id, WEN_VISIT.id)
    rosalind = TextingPatient(practice)
    wen = TextingPatient(practice, WEN_PHONE)
    # Rosalind held it first and let the hold run out; Wen was offered it next
    rosalind.offered(FREED, VISIT, sent=timedelta(minutes=40))
    wen.offered(FREED, WEN_VISIT, sent=timedelta(minutes=5))
    assert wen.says("yes").startswith("Done! You're now booked Wed Dec 2 at 2pm")
    assert rosalind.says("YES").startswith(GONE)
    assert status_of(practice, VISIT.id) is AppointmentStatus.BOOKED
    assert practice.waitlist.entry(ROSALIND.id) is not None
    assert practice.waitlist.entry(WEN.id) is None
    assert "waitlist_offer_gone" in rosalind.event_names()
    assert [c for c, _ in practice.changes.reported] == ["rescheduled"]


def test_a_time_another_patient_claimed_is_gone_before_the_ehr_is_touched(
    offered: TextingPatient, practice: Practice
) -> None:
    # another patient's yes claimed it a moment ago; the EHR has not caught up yet
    assert practice.waitlist.fill(FREED_KEY, WEN.id, practice.clock.now())
    assert offered.says("yes").startswith(GONE)
    assert "reschedule" not in practice.ehr.calls
    assert practice.waitlist.entry(ROSALIND.id) is not None


def test_a_time_booked_in_the_ehr_meanwhile_is_gone(offered: TextingPatient, practice: Practice) -> None:
    practice.ehr.taken_on_book.add(FREED.id)
    assert offered.says("yes").startswith(GONE)
    assert status_of(practice, VISIT.id) is AppointmentStatus.BOOKED
    assert practice.waitlist.entry(ROSALIND.id) is not None
    assert practice.changes.reported == []


def test_no_keeps_the_visit_and_the_place_on_the_list(offered: TextingPatient, practice: Practice) -> None:
    assert offered.says("no thanks") == "No problem, your visit stays as it is. You're still on our waitlist."
    assert status_of(practice, VISIT.id) is AppointmentStatus.BOOKED
    assert practice.waitlist.entry(ROSALIND.id) is not None
    assert "waitlist_offer" not in offered.context.flow_state


def test_take_me_off_the_waitlist_answers_the_offer_without_a_date_of_birth(
    offered: TextingPatient, practice: Practice
) -> None:
    assert (
        offered.says("take me off the waitlist") == "OK, you're off our waitlist. Your visit stays as it is."
    )
    assert practice.waitlist.entry(ROSALIND.id) is None


def test_a_yes_after_the_offered_time_started_is_an_ordinary_message(
    offered: TextingPatient, practice: Practice
) -> None:
    practice.clock.at = FREED.start + timedelta(minutes=1)
    offered.says("yes")
    assert "reschedule" not in practice.ehr.calls
    assert "waitlist_offer" not in offered.context.flow_state


def test_a_yes_after_the_hold_still_takes_a_time_nobody_took(
    offered: TextingPatient, practice: Practice
) -> None:
    practice.clock.advance(timedelta(hours=2))
    assert offered.says("yes").startswith(TAKEN)


def test_an_ehr_outage_hands_the_yes_to_the_front_desk(offered: TextingPatient, practice: Practice) -> None:
    practice.ehr.down = True
    assert "scheduling system isn't answering" in offered.says("yes")
    [escalation] = offered.last.escalations
    assert "earlier time offered from the waitlist" in escalation.summary


def test_a_visit_changed_since_the_offer_goes_to_the_front_desk(
    offered: TextingPatient, practice: Practice
) -> None:
    practice.ehr.appointments[0] = replace(VISIT, status=AppointmentStatus.CANCELLED)
    offered.says("yes")
    [escalation] = offered.last.escalations
    assert escalation.queue.value == "front_desk"
    assert "reschedule" not in practice.ehr.calls


# --- a reminder and an offer both waiting -----------------------------------------------------------


def test_a_yes_goes_to_the_newer_offer(offered: TextingPatient, practice: Practice) -> None:
    offered.reminded(sent=timedelta(hours=3))
    assert offered.says("yes").startswith(TAKEN)
    assert practice.ehr.confirmed == []
    assert "reminder" in offered.context.flow_state


def test_a_yes_goes_to_the_newer_reminder(offered: TextingPatient, practice: Practice) -> None:
    offered.reminded(sent=timedelta(minutes=1))
    assert offered.says("yes").startswith("Thank you! Your visit Thu Dec 10 at 11am is confirmed.")
    assert "reschedule" not in practice.ehr.calls
    assert "waitlist_offer" in offered.context.flow_state


def test_c_confirms_the_reminder_whatever_came_later(offered: TextingPatient, practice: Practice) -> None:
    offered.reminded(sent=timedelta(hours=3))
    assert offered.says("C").startswith("Thank you!")
    assert "waitlist_offer" in offered.context.flow_state
