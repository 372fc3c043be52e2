"""Identity verification: who is texting, proven before any PHI is disclosed.

The policy, free of I/O of its own (the EHR and the failure ledger are ports):

- the sender's number belongs to exactly one patient: ask for the date of birth; a match verifies;
- an unknown number, or one that several patients share: ask for full name and date of birth; one
  exact match verifies, two or more hand the conversation to a person;
- each failure counts against the number and, when known, the patient. `max_failures` within
  `window` from one number or against one patient locks verification (a person follows up) and
  publishes a fraud signal; so does one number failing against many patients, or many numbers
  against one patient (or one typed name);
- a verification lasts for the conversation until `session_idle` passes without a turn.

Outcomes are typed; the dialog chooses the words. Until `Verified`, no outcome carries anything
that could disclose a name, an appointment or a provider. Unreadable answers are asked again and
not counted as failures: a typo is not a wrong answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from careline.conversation.model import DomainEvent
from careline.ehr.errors import EhrUnavailable
from careline.ehr.model import PatientRecord
from careline.identity.dob import find_date_of_birth
from careline.identity.names import PersonName, candidate_splits, name_key, names_match
from careline.identity.ports import SubjectKeys, SubjectKind, VerificationLedger
from careline.observability import logger
from careline.ports import Clock, Ehr

FRAUD_SIGNAL_EVENT = "identity_fraud_signal"


class Stage(StrEnum):
    UNVERIFIED = "unverified"
    AWAITING_DATE_OF_BIRTH = "awaiting_date_of_birth"
    AWAITING_NAME_AND_DATE_OF_BIRTH = "awaiting_name_and_date_of_birth"
    VERIFIED = "verified"
    LOCKED = "locked"
    NEEDS_PERSON = "needs_person"


class Expecting(StrEnum):
    """What the patient is asked for next after a failure."""

    DATE_OF_BIRTH = "date_of_birth"
    NAME_AND_DATE_OF_BIRTH = "name_and_date_of_birth"


class NeedsPersonReason(StrEnum):
    SEVERAL_PATIENTS_MATCH = "several_patients_match"
    NO_DATE_OF_BIRTH_ON_FILE = "no_date_of_birth_on_file"
    EHR_UNAVAILABLE = "ehr_unavailable"


class FraudRule(StrEnum):
    FAILURES_FROM_NUMBER = "failures_from_number"
    FAILURES_AGAINST_PATIENT = "failures_against_patient"
    NUMBER_PROBES_MANY_PATIENTS = "number_probes_many_patients"
    MANY_NUMBERS_PROBE_PATIENT = "many_numbers_probe_patient"


# -- outcomes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AskDateOfBirth:
    """Ask for the date of birth (again, if `reprompt`: the last answer held no readable date)."""

    reprompt: bool = False


@dataclass(frozen=True)
class AskNameAndDob:
    """Ask for what is still missing of full name and date of birth."""

    missing_name: bool = True
    missing_date_of_birth: bool = True
    reprompt: bool = False


@dataclass(frozen=True)
class Verified:
    """Verified just now; the only outcome that carries the patient."""

    patient: PatientRecord


@dataclass(frozen=True)
class AlreadyVerified:
    """The conversation's verification is still live."""

    patient_id: str


@dataclass(frozen=True)
class Failed:
    """The answer did not match. `attempts_left` before verification locks."""

    attempts_left: int
    expecting: Expecting


@dataclass(frozen=True)
class Locked:
    """Too many failures in the window: a person follows up. `newly_locked` on the failure that
    locked it (escalate then), false when a locked number or patient tries again."""

    newly_locked: bool


@dataclass(frozen=True)
class NeedsPerson:
    reason: NeedsPersonReason


VerificationOutcome = (
    AskDateOfBirth | AskNameAndDob | Verified | AlreadyVerified | Failed | Locked | NeedsPerson
)


# -- state -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerificationState:
    """Verification for one conversation; lives in the (encrypted) `ConversationContext.flow_state`.

    `claimed_name`/`claimed_birth_date` hold half an answer on the unknown-number path ("Maria
    Lopez", then "3/14/84" in the next message); they are PHI, like everything in flow_state.
    """

    stage: Stage = Stage.UNVERIFIED
    patient_id: str | None = None
    verified_at: datetime | None = None
    last_activity: datetime | None = None
    failures: int = 0  # failed attempts in this conversation
    claimed_name: str | None = None
    claimed_birth_date: date | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (strings, ints and None only)."""
        return {
            "stage": self.stage.value,
            "patient_id": self.patient_id,
            "verified_at": _iso(self.verified_at),
            "last_activity": _iso(self.last_activity),
            "failures": self.failures,
            "claimed_name": self.claimed_name,
            "claimed_birth_date": self.claimed_birth_date.isoformat() if self.claimed_birth_date else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> VerificationState:
        """The state `to_dict` wrote; anything unreadable gives a fresh, unverified state, so a
        damaged record can never read as verified."""
        if not data:
            return cls()
        try:
            state = cls(
                stage=Stage(data.get("stage", Stage.UNVERIFIED.value)),
                patient_id=_optional_str(data.get("patient_id")),
                verified_at=_aware(data.get("verified_at")),
                last_activity=_aware(data.get("last_activity")),
                failures=int(data.get("failures", 0)),
                claimed_name=_optional_str(data.get("claimed_name")),
                claimed_birth_date=date.fromisoformat(data["claimed_birth_date"])
                if data.get("claimed_birth_date")
                else None,
            )
        except (TypeError, ValueError):
            return cls()
        if state.stage is Stage.VERIFIED and (state.patient_id is None or state.last_activity is None):
            return cls()
        return state


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def _optional_str(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    at = datetime.fromisoformat(str(value))
    if at.tzinfo is None:
        raise ValueError("naive datetime in verification state")
    return at


@dataclass(frozen=True)
class VerificationStep:
    """What one step decided: the outcome to render, the state to keep, the events to publish."""

    outcome: VerificationOutcome
    state: VerificationState
    events: tuple[DomainEvent, ...] = field(default=())


# -- the policy --------------------------------------------------------------------------------


class IdentityVerifier:
    """Verifies the sender of a conversation against the EHR; see the module docstring."""

    def __init__(
        self,
        ehr: Ehr,
        ledger: VerificationLedger,
        clock: Clock,
        keys: SubjectKeys,
        *,
        max_failures: int = 3,
        window: timedelta = timedelta(hours=24),
        session_idle: timedelta = timedelta(minutes=30),
        probe_threshold: int = 3,
        timezone: tzinfo = UTC,
    ) -> None:
        if max_failures < 1 or probe_threshold < 2:
            raise ValueError("max_failures must be at least 1 and probe_threshold at least 2")
        self._ehr = ehr
        self._ledger = ledger
        self._clock = clock
        self._keys = keys
        self._max_failures = max_failures
        self._window = window
        self._session_idle = session_idle
        self._probe_threshold = probe_threshold
        # "today" for a date of birth is the practice's calendar day, not UTC's
        self._timezone = timezone

    # -- the conversation's verification ----------------------------------------------------------

    def refresh(self, state: VerificationState) -> VerificationState:
        """The state as of now: a verification idle longer than `session_idle` (or an unfinished
        one) starts over; a live one has its idle clock reset. Call once per turn."""
        now = self._clock.now()
        state = self._expired(state, now)
        return replace(state, last_activity=now) if state.stage is Stage.VERIFIED else state

    def new_session(self, state: VerificationState) -> VerificationState:
        """The state for a new session of the conversation (a new phone call): not verified, and no
        half-given answer, whatever the last session proved. A lock or hand-off stands, and failures
        still count (the ledger keeps them across sessions too)."""
        if state.stage in (Stage.LOCKED, Stage.NEEDS_PERSON):
            return state
        return VerificationState(failures=state.failures)

    def verified_patient_id(self, state: VerificationState) -> str | None:
        """The verified patient's id, or None when the conversation is not (or no longer) verified."""
        state = self._expired(state, self._clock.now())
        return state.patient_id if state.stage is Stage.VERIFIED else None

    # -- steps ------------------------------------------------------------------------------------

    def start(self, state: VerificationState, phone: str) -> VerificationStep:
        """Begin verification for the sender `phone` (E.164): what to ask, or why not to."""
        now = self._clock.now()
        state = self._expired(state, now)
        if state.stage is Stage.VERIFIED and state.patient_id:
            return self._step(AlreadyVerified(state.patient_id), replace(state, last_activity=now))
        fresh = VerificationState(failures=state.failures, last_activity=now)
        if self._is_locked(self._number_key(phone), now):
            return self._step(Locked(newly_locked=False), replace(fresh, stage=Stage.LOCKED))
        try:
            patients = self._ehr.find_patients_by_phone(phone)
        except EhrUnavailable:
            return self._needs_person(fresh, NeedsPersonReason.EHR_UNAVAILABLE)
        if len(patients) == 1:
            return self._ask_date_of_birth(fresh, patients[0], now)
        return self._step(AskNameAndDob(), replace(fresh, stage=Stage.AWAITING_NAME_AND_DATE_OF_BIRTH))

    def answer(
        self, state: VerificationState, phone: str, text: str, *, attempt_id: str | None = None
    ) -> VerificationStep:
        """Check the patient's reply to the last question. `attempt_id` (the inbound message id)
        keeps a redelivered message from counting as a second failure."""
        now = self._clock.now()
        state = self._expired(state, now)
        if state.stage not in (Stage.AWAITING_DATE_OF_BIRTH, Stage.AWAITING_NAME_AND_DATE_OF_BIRTH):
            return self.start(state, phone)
        state = replace(state, last_activity=now)
        number_key = self._number_key(phone)
        if self._is_locked(number_key, now):
            return self._step(Locked(newly_locked=False), replace(state, stage=Stage.LOCKED))
        if state.stage is Stage.AWAITING_DATE_OF_BIRTH:
            return self._check_date_of_birth(state, phone, text, number_key, now, attempt_id)
        return self._check_name_and_date_of_birth(state, text, number_key, now, attempt_id)

    # -- known number -----------------------------------------------------------------------------

    def _ask_date_of_birth(
        self, state: VerificationState, patient: PatientRecord, now: datetime
    ) -> VerificationStep:
        if self._is_locked(self._patient_key(patient.id), now):
            return self._step(Locked(newly_locked=False), replace(state, stage=Stage.LOCKED))
        if patient.birth_date is None:
            return self._needs_person(state, NeedsPersonReason.NO_DATE_OF_BIRTH_ON_FILE)
        return self._step(AskDateOfBirth(), replace(state, stage=Stage.AWAITING_DATE_OF_BIRTH))

    def _check_date_of_birth(
        self,
        state: VerificationState,
        phone: str,
        text: str,
        number_key: str,
        now: datetime,
        attempt_id: str | None,
    ) -> VerificationStep:
        found = find_date_of_birth(text, self._today(now))
        if found is None:
            return self._step(AskDateOfBirth(reprompt=True), state)
        try:
            # Looked up again rather than kept in the state: no candidate's PHI waits in storage.
            patients = self._ehr.find_patients_by_phone(phone)
        except EhrUnavailable:
            return self._needs_person(state, NeedsPersonReason.EHR_UNAVAILABLE)
        if len(patients) != 1:
            # the EHR's numbers changed since we asked: fall back to name and date of birth
            return self._step(AskNameAndDob(), replace(state, stage=Stage.AWAITING_NAME_AND_DATE_OF_BIRTH))
        patient = patients[0]
        patient_key = self._patient_key(patient.id)
        if self._is_locked(patient_key, now):
            return self._step(Locked(newly_locked=False), replace(state, stage=Stage.LOCKED))
        if patient.birth_date is None:
            return self._needs_person(state, NeedsPersonReason.NO_DATE_OF_BIRTH_ON_FILE)
        if patient.birth_date == found.birth_date:
            return self._verified(state, patient, now)
        return self._failed(
            state,
            now,
            number_key=number_key,
            against=(SubjectKind.PATIENT, patient_key),
            expecting=Expecting.DATE_OF_BIRTH,
            attempt_id=attempt_id,
        )

    # -- unknown number ---------------------------------------------------------------------------

    def _check_name_and_date_of_birth(
        self,
        state: VerificationState,
        text: str,
        number_key: str,
        now: datetime,
        attempt_id: str | None,
    ) -> VerificationStep:
        found = find_date_of_birth(text, self._today(now))
        rest = text if found is None else text[: found.span[0]] + " " + text[found.span[1] :]
        typed_name = rest.strip() if candidate_splits(rest) else None
        name = typed_name or state.claimed_name
        birth_date = found.birth_date if found else state.claimed_birth_date
        if name is None or birth_date is None:
            reprompt = found is None and typed_name is None
            partial = replace(state, claimed_name=name, claimed_birth_date=birth_date)
            return self._step(
                AskNameAndDob(
                    missing_name=name is None, missing_date_of_birth=birth_date is None, reprompt=reprompt
                ),
                partial,
            )
        state = replace(state, claimed_name=None, claimed_birth_date=None)
        try:
            matches = self._patients_named(name, birth_date)
        except EhrUnavailable:
            return self._needs_person(state, NeedsPersonReason.EHR_UNAVAILABLE)
        if len(matches) > 1:
            return self._needs_person(state, NeedsPersonReason.SEVERAL_PATIENTS_MATCH)
        if len(matches) == 1:
            patient = matches[0]
            if self._is_locked(self._patient_key(patient.id), now):
                return self._step(Locked(newly_locked=False), replace(state, stage=Stage.LOCKED))
            return self._verified(state, patient, now)
        claim_key = self._keys.subject_key(SubjectKind.CLAIMED_NAME, _claim_value(name))
        return self._failed(
            state,
            now,
            number_key=number_key,
            against=(SubjectKind.CLAIMED_NAME, claim_key),
            expecting=Expecting.NAME_AND_DATE_OF_BIRTH,
            attempt_id=attempt_id,
        )

    def _patients_named(self, typed: str, birth_date: date) -> list[PatientRecord]:
        """Patients whose name and date of birth match exactly, trying each reading of the name
        until one finds someone (a compound surname may be split either way)."""
        for reading in candidate_splits(typed):
            found = self._ehr.find_patients_by_name_and_birth_date(reading.given, reading.family, birth_date)
            matches = {p.id: p for p in found if _same_person(reading, birth_date, p)}
            if matches:
                return list(matches.values())
        return []

    # -- results ----------------------------------------------------------------------------------

    def _verified(self, state: VerificationState, patient: PatientRecord, now: datetime) -> VerificationStep:
        verified = replace(
            state,
            stage=Stage.VERIFIED,
            patient_id=patient.id,
            verified_at=now,
            last_activity=now,
            claimed_name=None,
            claimed_birth_date=None,
        )
        logger.info("identity verified", extra={"failures_before": state.failures})
        return self._step(Verified(patient), verified)

    def _failed(
        self,
        state: VerificationState,
        now: datetime,
        *,
        number_key: str,
        against: tuple[SubjectKind, str],
        expecting: Expecting,
        attempt_id: str | None,
    ) -> VerificationStep:
        kind, subject_key = against
        self._ledger.record_failure(number_key, now, counterpart=subject_key, attempt_id=attempt_id)
        self._ledger.record_failure(subject_key, now, counterpart=number_key, attempt_id=attempt_id)
        since = now - self._window
        from_number = self._ledger.failures_since(number_key, since)
        # A typed name is not a patient: it feeds the fraud signals but never locks, or anyone
        # could lock out every patient called Maria Lopez.
        against_patient = (
            self._ledger.failures_since(subject_key, since) if kind is SubjectKind.PATIENT else 0
        )
        state = replace(state, failures=state.failures + 1)

        events: list[DomainEvent] = []
        if from_number >= self._max_failures:
            events.append(
                self._signal(FraudRule.FAILURES_FROM_NUMBER, SubjectKind.NUMBER, number_key, from_number, now)
            )
        if against_patient >= self._max_failures:
            events.append(
                self._signal(FraudRule.FAILURES_AGAINST_PATIENT, kind, subject_key, against_patient, now)
            )
        probed = self._ledger.counterparts_since(number_key, since)
        if self._newly_reached(probed, subject_key):
            events.append(
                self._signal(
                    FraudRule.NUMBER_PROBES_MANY_PATIENTS, SubjectKind.NUMBER, number_key, len(probed), now
                )
            )
        probing = self._ledger.counterparts_since(subject_key, since)
        if self._newly_reached(probing, number_key):
            events.append(
                self._signal(FraudRule.MANY_NUMBERS_PROBE_PATIENT, kind, subject_key, len(probing), now)
            )

        worst = max(from_number, against_patient)
        logger.info(
            "identity verification failed",
            extra={"failures_in_window": worst, "signals": [e.detail["rule"] for e in events]},
        )
        if worst >= self._max_failures:
            return self._step(Locked(newly_locked=True), replace(state, stage=Stage.LOCKED), events)
        return self._step(
            Failed(attempts_left=self._max_failures - worst, expecting=expecting), state, events
        )

    def _newly_reached(self, counterparts: Mapping[str, int], latest: str) -> bool:
        # Only the failure that brings the count of distinct counterparts to the threshold signals.
        return len(counterparts) == self._probe_threshold and counterparts.get(latest) == 1

    def _signal(
        self, rule: FraudRule, kind: SubjectKind, subject_key: str, count: int, now: datetime
    ) -> DomainEvent:
        threshold = self._probe_threshold if rule in _PROBE_RULES else self._max_failures
        return DomainEvent(
            detail_type=FRAUD_SIGNAL_EVENT,
            detail={
                "rule": rule.value,
                "subject_kind": kind.value,
                "subject": subject_key,
                "count": count,
                "threshold": threshold,
                "window_hours": self._window.total_seconds() / 3600,
                "locked": rule not in _PROBE_RULES,
            },
            at=now,
        )

    def _needs_person(self, state: VerificationState, reason: NeedsPersonReason) -> VerificationStep:
        logger.info("identity verification needs a person", extra={"reason": reason.value})
        return self._step(NeedsPerson(reason), replace(state, stage=Stage.NEEDS_PERSON))

    @staticmethod
    def _step(
        outcome: VerificationOutcome,
        state: VerificationState,
        events: list[DomainEvent] | tuple[DomainEvent, ...] = (),
    ) -> VerificationStep:
        return VerificationStep(outcome=outcome, state=state, events=tuple(events))

    # -- helpers ----------------------------------------------------------------------------------

    def _expired(self, state: VerificationState, now: datetime) -> VerificationState:
        idle_since = state.last_activity
        if state.stage in (Stage.UNVERIFIED, Stage.LOCKED, Stage.NEEDS_PERSON) or idle_since is None:
            return state
        if now - idle_since > self._session_idle:
            return VerificationState(failures=state.failures if state.stage is not Stage.VERIFIED else 0)
        return state

    def _is_locked(self, subject_key: str, now: datetime) -> bool:
        return self._ledger.failures_since(subject_key, now - self._window) >= self._max_failures

    def _number_key(self, phone: str) -> str:
        return self._keys.subject_key(SubjectKind.NUMBER, phone)

    def _patient_key(self, patient_id: str) -> str:
        return self._keys.subject_key(SubjectKind.PATIENT, patient_id)

    def _today(self, now: datetime) -> date:
        return now.astimezone(self._timezone).date()


_PROBE_RULES = frozenset({FraudRule.NUMBER_PROBES_MANY_PATIENTS, FraudRule.MANY_NUMBERS_PROBE_PATIENT})


def _same_person(typed: PersonName, birth_date: date, patient: PatientRecord) -> bool:
    return patient.birth_date == birth_date and names_match(typed, patient.given_name, patient.family_name)


def _claim_value(typed: str) -> str:
    """One claimed identity per typed full name, however it is spelled or split."""
    readings = candidate_splits(typed)
    return name_key(readings[0].given + readings[0].family) if readings else name_key(typed)
