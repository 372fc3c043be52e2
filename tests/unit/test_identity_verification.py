"""The identity-verification policy, with a fake EHR, the in-memory ledger and a fixed clock."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
from careline.ehr.errors import EhrUnavailable
from careline.ehr.model import PatientRecord
from careline.identity import (
    FRAUD_SIGNAL_EVENT,
    AlreadyVerified,
    AskDateOfBirth,
    AskNameAndDob,
    Expecting,
    Failed,
    FraudRule,
    IdentityVerifier,
    InMemoryVerificationLedger,
    Locked,
    NeedsPerson,
    NeedsPersonReason,
    Stage,
    SubjectKind,
    VerificationState,
    VerificationStep,
    Verified,
)
from careline.identity.names import normalize_name

from tests.unit.fakes import FixedClock

ROSALIND_PHONE = "+15035550141"
FARROW_PHONE = "+15035550142"  # Imogen and Tobias Farrow share it
DELPHINE_PHONES = ("+15035550143", "+15035550144", "+15035550145")
UNKNOWN_PHONE = "+15035550199"

ROSALIND = PatientRecord("pat-rq", "Rosalind", "Quenby", date(1984, 3, 14), (ROSALIND_PHONE,))
IMOGEN = PatientRecord("pat-if", "Imogen", "Farrow", date(1980, 11, 30), (FARROW_PHONE,))
TOBIAS = PatientRecord("pat-tf", "Tobias", "Farrow", date(2012, 6, 3), (FARROW_PHONE,))
MARIA = PatientRecord("pat-mn", "María José", "Núñez-Peñalver", date(1975, 2, 28))
SAMUEL_1 = PatientRecord("pat-so1", "Samuel", "Okonkwo", date(1990, 7, 4))
SAMUEL_2 = PatientRecord("pat-so2", "Samuel", "Okonkwo", date(1990, 7, 4))
DELPHINE = PatientRecord("pat-da", "Delphine", "Arkwright", date(1961, 9, 9), DELPHINE_PHONES)
NO_DOB = PatientRecord("pat-nd", "Rosalind", "Quenby", None, ("+15035550177",))

START = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)


@dataclass
class FakeEhr:
    """Patients in a list; name search is case- and accent-insensitive and exact, like the port."""

    patients: list[PatientRecord]
    down: bool = False
    name_searches: list[tuple[str, str]] = field(default_factory=list)

    def find_patients_by_phone(self, phone: str) -> list[PatientRecord]:
        if self.down:
            raise EhrUnavailable("down")
        return [p for p in self.patients if phone in p.phones]

    def find_patients_by_name_and_birth_date(
        self, given_name: str, family_name: str, birth_date: date
    ) -> list[PatientRecord]:
        if self.down:
            raise EhrUnavailable("down")
        self.name_searches.append((given_name, family_name))
        return [
            p
            for p in self.patients
            if p.birth_date == birth_date
            and normalize_name(p.given_name) == normalize_name(given_name)
            and normalize_name(p.family_name) == normalize_name(family_name)
        ]


class FakeSubjectKeys:
    def subject_key(self, kind: SubjectKind, value: str) -> str:
        return hashlib.sha256(f"{kind.value}:{value}".encode()).hexdigest()


KEYS = FakeSubjectKeys()


@dataclass
class World:
    ehr: FakeEhr
    ledger: InMemoryVerificationLedger
    clock: FixedClock
    verifier: IdentityVerifier

    def start(self, phone: str, state: VerificationState | None = None) -> VerificationStep:
        return self.verifier.start(state or VerificationState(), phone)

    def answers(self, phone: str, *texts: str) -> list[VerificationStep]:
        """Start, then answer each text in turn; the steps of the answers."""
        state = self.start(phone).state
        steps = []
        for text in texts:
            step = self.verifier.answer(state, phone, text)
            steps.append(step)
            state = step.state
        return steps


@pytest.fixture
def world() -> World:
    ehr = FakeEhr([ROSALIND, IMOGEN, TOBIAS, MARIA, SAMUEL_1, SAMUEL_2, DELPHINE, NO_DOB])
    ledger = InMemoryVerificationLedger()
    clock = FixedClock(START)
    return World(ehr, ledger, clock, IdentityVerifier(ehr, ledger, clock, KEYS))


# -- a number that belongs to one patient ------------------------------------------------------


def test_known_number_is_asked_for_date_of_birth_then_verified(world: World) -> None:
    first = world.start(ROSALIND_PHONE)
    assert first.outcome == AskDateOfBirth()
    assert first.state.stage is Stage.AWAITING_DATE_OF_BIRTH

    step = world.verifier.answer(first.state, ROSALIND_PHONE, "my dob is march 14th, 1984")
    assert step.outcome == Verified(ROSALIND)
    assert step.state.patient_id == ROSALIND.id
    assert step.state.verified_at == START
    assert world.verifier.verified_patient_id(step.state) == ROSALIND.id
    assert step.events == ()


def test_wrong_date_of_birth_fails_with_attempts_left(world: World) -> None:
    [step] = world.answers(ROSALIND_PHONE, "3/15/84")
    assert step.outcome == Failed(attempts_left=2, expecting=Expecting.DATE_OF_BIRTH)
    assert step.state.stage is Stage.AWAITING_DATE_OF_BIRTH
    assert world.verifier.verified_patient_id(step.state) is None
    assert world.ledger.failures_since(KEYS.subject_key(SubjectKind.NUMBER, ROSALIND_PHONE), START) == 1
    assert world.ledger.failures_since(KEYS.subject_key(SubjectKind.PATIENT, ROSALIND.id), START) == 1


def test_an_unreadable_answer_is_asked_again_and_not_counted(world: World) -> None:
    [step] = world.answers(ROSALIND_PHONE, "why do you need that?")
    assert step.outcome == AskDateOfBirth(reprompt=True)
    assert world.ledger.failures == {}


def test_three_failures_from_a_number_lock_it_and_signal_fraud(world: World) -> None:
    steps = world.answers(ROSALIND_PHONE, "1/1/80", "2/2/81", "3/3/82")
    assert [s.outcome for s in steps] == [
        Failed(2, Expecting.DATE_OF_BIRTH),
        Failed(1, Expecting.DATE_OF_BIRTH),
        Locked(newly_locked=True),
    ]
    rules = {e.detail["rule"] for e in steps[-1].events}
    assert rules == {FraudRule.FAILURES_FROM_NUMBER, FraudRule.FAILURES_AGAINST_PATIENT}
    assert all(e.detail_type == FRAUD_SIGNAL_EVENT and e.detail["locked"] for e in steps[-1].events)
    assert steps[-1].events[0].detail["count"] == 3

    # locked: even the right answer, or a fresh start, gets no further
    again = world.verifier.answer(steps[-1].state, ROSALIND_PHONE, "3/14/84")
    assert again.outcome == Locked(newly_locked=False)
    assert world.start(ROSALIND_PHONE).outcome == Locked(newly_locked=False)
    assert again.events == ()


def test_three_failures_against_one_patient_from_different_numbers_lock_the_patient(world: World) -> None:
    steps = [world.answers(phone, "1/1/1970")[0] for phone in DELPHINE_PHONES]
    assert [s.outcome for s in steps] == [
        Failed(2, Expecting.DATE_OF_BIRTH),
        Failed(1, Expecting.DATE_OF_BIRTH),
        Locked(newly_locked=True),
    ]
    by_rule = {e.detail["rule"]: e.detail for e in steps[-1].events}
    assert set(by_rule) == {FraudRule.FAILURES_AGAINST_PATIENT, FraudRule.MANY_NUMBERS_PROBE_PATIENT}
    assert by_rule[FraudRule.MANY_NUMBERS_PROBE_PATIENT]["count"] == 3
    assert by_rule[FraudRule.MANY_NUMBERS_PROBE_PATIENT]["subject_kind"] == "patient"
    # each number failed only once, but the patient is locked whichever number asks
    assert world.start(DELPHINE_PHONES[0]).outcome == Locked(newly_locked=False)


def test_failures_slide_out_of_the_24_hour_window(world: World) -> None:
    world.answers(ROSALIND_PHONE, "1/1/80")
    world.clock.advance(timedelta(hours=1))
    world.answers(ROSALIND_PHONE, "1/1/80")
    world.clock.advance(timedelta(hours=23, minutes=1))  # the first failure is now 24h01 old
    [step] = world.answers(ROSALIND_PHONE, "1/1/80")
    assert step.outcome == Failed(attempts_left=1, expecting=Expecting.DATE_OF_BIRTH)


def test_a_lock_lifts_when_its_failures_leave_the_window(world: World) -> None:
    world.answers(ROSALIND_PHONE, "1/1/80", "1/1/80", "1/1/80")
    world.clock.advance(timedelta(hours=23, minutes=59))
    assert world.start(ROSALIND_PHONE).outcome == Locked(newly_locked=False)
    world.clock.advance(timedelta(minutes=2))
    assert world.start(ROSALIND_PHONE).outcome == AskDateOfBirth()


def test_a_redelivered_answer_counts_once(world: World) -> None:
    state = world.start(ROSALIND_PHONE).state
    first = world.verifier.answer(state, ROSALIND_PHONE, "1/1/80", attempt_id="msg-1")
    second = world.verifier.answer(state, ROSALIND_PHONE, "1/1/80", attempt_id="msg-1")
    assert first.outcome == second.outcome == Failed(2, Expecting.DATE_OF_BIRTH)


def test_a_patient_without_a_date_of_birth_on_file_goes_to_a_person(world: World) -> None:
    assert world.start("+15035550177").outcome == NeedsPerson(NeedsPersonReason.NO_DATE_OF_BIRTH_ON_FILE)


def test_an_ehr_outage_goes_to_a_person_without_an_exception(world: World) -> None:
    state = world.start(ROSALIND_PHONE).state
    world.ehr.down = True
    assert world.verifier.answer(state, ROSALIND_PHONE, "3/14/84").outcome == NeedsPerson(
        NeedsPersonReason.EHR_UNAVAILABLE
    )
    assert world.start(UNKNOWN_PHONE).outcome == NeedsPerson(NeedsPersonReason.EHR_UNAVAILABLE)
    assert world.ledger.failures == {}


# -- an unknown or shared number ---------------------------------------------------------------


def test_a_shared_number_asks_for_name_and_date_of_birth(world: World) -> None:
    assert world.start(FARROW_PHONE).outcome == AskNameAndDob()
    [step] = world.answers(FARROW_PHONE, "I'm Tobias Farrow, june 3 2012")
    assert step.outcome == Verified(TOBIAS)


def test_an_unknown_number_verifies_with_name_and_date_of_birth_in_two_messages(world: World) -> None:
    name_only, dob_only = world.answers(UNKNOWN_PHONE, "my name is Imogen Farrow", "11/30/80")
    assert name_only.outcome == AskNameAndDob(missing_name=False, missing_date_of_birth=True)
    assert dob_only.outcome == Verified(IMOGEN)
    assert dob_only.state.claimed_name is None


def test_date_of_birth_first_then_name(world: World) -> None:
    dob_only, name_only = world.answers(UNKNOWN_PHONE, "dob 11/30/1980", "farrow, imogen")
    assert dob_only.outcome == AskNameAndDob(missing_name=True, missing_date_of_birth=False)
    assert name_only.outcome == Verified(IMOGEN)


def test_names_with_accents_match_typed_without_them(world: World) -> None:
    [step] = world.answers(UNKNOWN_PHONE, "maria jose nunez penalver feb 28 1975")
    assert step.outcome == Verified(MARIA)


def test_two_patients_with_the_same_name_and_birth_date_go_to_a_person(world: World) -> None:
    [step] = world.answers(UNKNOWN_PHONE, "Samuel Okonkwo 7/4/90")
    assert step.outcome == NeedsPerson(NeedsPersonReason.SEVERAL_PATIENTS_MATCH)
    assert world.verifier.verified_patient_id(step.state) is None


def test_no_match_on_the_name_path_counts_against_the_number(world: World) -> None:
    steps = world.answers(
        UNKNOWN_PHONE, "Imogen Farrow 11/30/81", "Imogen Farrow 11/29/80", "Imogen Farrow 1/1/80"
    )
    assert [s.outcome for s in steps] == [
        Failed(2, Expecting.NAME_AND_DATE_OF_BIRTH),
        Failed(1, Expecting.NAME_AND_DATE_OF_BIRTH),
        Locked(newly_locked=True),
    ]
    # Imogen herself, texting from her own number, is not locked by a stranger's guesses
    assert world.start(FARROW_PHONE).outcome == AskNameAndDob()


def test_one_number_trying_many_names_is_a_fraud_signal(world: World) -> None:
    steps = world.answers(
        UNKNOWN_PHONE, "Imogen Farrow 1/1/80", "Tobias Farrow 1/1/80", "Rosalind Quenby 1/1/80"
    )
    rules = {e.detail["rule"] for e in steps[-1].events}
    assert FraudRule.NUMBER_PROBES_MANY_PATIENTS in rules
    assert {e.detail["rule"] for s in steps[:-1] for e in s.events} == set()


def test_many_numbers_failing_on_one_typed_name_signal_without_locking_the_name(world: World) -> None:
    outcomes, events = [], []
    for phone in ("+15035550191", "+15035550192", "+15035550193", "+15035550194"):
        [step] = world.answers(phone, "Imogen Farrow 1/1/80")
        outcomes.append(step.outcome)
        events.extend(step.events)
    assert outcomes == [Failed(2, Expecting.NAME_AND_DATE_OF_BIRTH)] * 4
    assert [(e.detail["rule"], e.detail["subject_kind"]) for e in events] == [
        (FraudRule.MANY_NUMBERS_PROBE_PATIENT, "claimed_name")
    ]


# -- the conversation's verification -----------------------------------------------------------


def _verified(world: World) -> VerificationState:
    [step] = world.answers(ROSALIND_PHONE, "3/14/84")
    assert isinstance(step.outcome, Verified)
    return step.state


def test_verification_lasts_while_the_conversation_is_active(world: World) -> None:
    state = _verified(world)
    for _ in range(4):  # two hours of turns, 29 minutes apart
        world.clock.advance(timedelta(minutes=29))
        state = world.verifier.refresh(state)
        assert world.verifier.verified_patient_id(state) == ROSALIND.id
    assert world.start(ROSALIND_PHONE, state).outcome == AlreadyVerified(ROSALIND.id)


def test_verification_expires_after_30_idle_minutes(world: World) -> None:
    state = _verified(world)
    world.clock.advance(timedelta(minutes=30, seconds=1))
    assert world.verifier.verified_patient_id(state) is None
    assert world.verifier.refresh(state) == VerificationState()
    assert world.start(ROSALIND_PHONE, state).outcome == AskDateOfBirth()


def test_an_abandoned_half_answer_does_not_outlive_the_idle_window(world: World) -> None:
    [partial] = world.answers(UNKNOWN_PHONE, "Imogen Farrow")
    world.clock.advance(timedelta(hours=2))
    step = world.verifier.answer(partial.state, UNKNOWN_PHONE, "11/30/80")
    assert step.outcome == AskNameAndDob()
    assert step.state.claimed_name is None


def test_state_round_trips_through_json(world: World) -> None:
    for state in (_verified(world), world.answers(UNKNOWN_PHONE, "11/30/80")[0].state, VerificationState()):
        assert VerificationState.from_dict(json.loads(json.dumps(state.to_dict()))) == state


@pytest.mark.parametrize(
    "damaged",
    [
        {"stage": "verified"},
        {"stage": "verified", "patient_id": "pat-rq", "last_activity": "2026-03-02T17:00:00"},
        {"stage": "no-such-stage"},
        {"stage": "verified", "patient_id": 7, "last_activity": START.isoformat()},
        None,
    ],
)
def test_a_damaged_state_reads_as_unverified(damaged: dict[str, object] | None) -> None:
    assert VerificationState.from_dict(damaged) == VerificationState()


# -- nothing disclosed before verification -----------------------------------------------------


def test_nothing_but_verified_carries_patient_data_and_events_hold_only_hashes(world: World) -> None:
    steps = [
        world.start(ROSALIND_PHONE),
        *world.answers(ROSALIND_PHONE, "1/1/80", "hmm", "2/2/80", "3/3/80"),
        *world.answers(FARROW_PHONE, "Tobias Farrow", "1/1/2012"),
        *world.answers(UNKNOWN_PHONE, "Samuel Okonkwo 7/4/90"),
        *world.answers("+15035550191", "Imogen Farrow 1/1/80", "Tobias Farrow 1/1/80", "Maria Nunez 1/1/80"),
        *world.answers("+15035550192", "Imogen Farrow 1/1/80"),
        *world.answers("+15035550193", "Imogen Farrow 1/1/80"),
    ]
    secrets = [
        p
        for patient in (ROSALIND, IMOGEN, TOBIAS, SAMUEL_1, SAMUEL_2)
        for p in (patient.id, patient.given_name, patient.family_name, str(patient.birth_date))
    ]
    events = [e for s in steps for e in s.events]
    assert {e.detail["rule"] for e in events} >= {
        FraudRule.FAILURES_FROM_NUMBER,
        FraudRule.NUMBER_PROBES_MANY_PATIENTS,
        FraudRule.MANY_NUMBERS_PROBE_PATIENT,
    }
    for step in steps:
        assert not isinstance(step.outcome, Verified)
        shown = repr(step.outcome)
        assert not any(secret in shown for secret in secrets)
    published = json.dumps([e.detail for e in events])
    assert not any(secret in published for secret in [*secrets, "5035550", "Farrow", "farrow"])
