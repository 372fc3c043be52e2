"""DynamoVerificationLedger against moto: windowed counts, distinct counterparts, TTL, hashed keys."""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest
from careline.identity import IdentityVerifier, Locked, SubjectKind, VerificationState
from careline.store import HmacPartyKeys
from careline.store.verification import DynamoVerificationLedger, HmacSubjectKeys

PHONE = "+15035550141"
OTHER_PHONE = "+15035550143"
PATIENT_ID = "pat-rq"


@pytest.fixture
def keys(aws):
    return HmacSubjectKeys(aws.hash_secret_arn)


@pytest.fixture
def ledger(aws):
    return DynamoVerificationLedger(aws.table_name, region="us-west-2")


def _raw_items(aws) -> list[dict]:
    return boto3.client("dynamodb").scan(TableName=aws.table_name)["Items"]


def test_counts_failures_inside_the_window(ledger, keys, clock) -> None:
    number = keys.subject_key(SubjectKind.NUMBER, PHONE)
    first = clock.now()
    ledger.record_failure(number, first)
    ledger.record_failure(number, first + timedelta(hours=2))
    ledger.record_failure(number, first + timedelta(hours=2))  # same instant, another attempt
    assert ledger.failures_since(number, first) == 3
    assert ledger.failures_since(number, first + timedelta(seconds=1)) == 2
    assert ledger.failures_since(keys.subject_key(SubjectKind.NUMBER, OTHER_PHONE), first) == 0


def test_a_redelivered_attempt_is_counted_once(ledger, keys, clock) -> None:
    number = keys.subject_key(SubjectKind.NUMBER, PHONE)
    ledger.record_failure(number, clock.now(), attempt_id="msg-1")
    ledger.record_failure(number, clock.now(), attempt_id="msg-1")
    assert ledger.failures_since(number, clock.now()) == 1


def test_counts_distinct_counterparts(ledger, keys, clock) -> None:
    patient = keys.subject_key(SubjectKind.PATIENT, PATIENT_ID)
    number, other = (keys.subject_key(SubjectKind.NUMBER, p) for p in (PHONE, OTHER_PHONE))
    ledger.record_failure(patient, clock.now(), counterpart=number)
    ledger.record_failure(patient, clock.now(), counterpart=number)
    ledger.record_failure(patient, clock.now(), counterpart=other)
    assert ledger.counterparts_since(patient, clock.now()) == {number: 2, other: 1}
    assert ledger.counterparts_since(patient, clock.now() + timedelta(seconds=1)) == {}


def test_items_expire_one_window_after_the_failure(aws, ledger, keys, clock) -> None:
    ledger.record_failure(keys.subject_key(SubjectKind.NUMBER, PHONE), clock.now())
    [item] = _raw_items(aws)
    assert int(item["expires_at"]["N"]) == int((clock.now() + timedelta(hours=24)).timestamp())


def test_no_raw_number_or_patient_id_reaches_the_table(aws, ledger, keys, clock) -> None:
    patient = keys.subject_key(SubjectKind.PATIENT, PATIENT_ID)
    number = keys.subject_key(SubjectKind.NUMBER, PHONE)
    ledger.record_failure(number, clock.now(), counterpart=patient)
    ledger.record_failure(patient, clock.now(), counterpart=number)
    raw = repr(_raw_items(aws))
    assert PATIENT_ID not in raw
    assert "5035550141" not in raw
    assert len(_raw_items(aws)) == 2


def test_refuses_a_subject_that_is_not_a_keyed_hash(ledger, clock) -> None:
    with pytest.raises(ValueError, match="keyed hash") as caught:
        ledger.record_failure(PHONE, clock.now())
    assert PHONE not in str(caught.value)
    with pytest.raises(ValueError, match="keyed hash"):
        ledger.failures_since(PATIENT_ID, clock.now())


def test_a_numbers_subject_key_is_its_party_id(aws, keys) -> None:
    assert keys.subject_key(SubjectKind.NUMBER, "(503) 555-0141") == HmacPartyKeys(
        aws.hash_secret_arn
    ).party_for_phone(PHONE)
    patient = keys.subject_key(SubjectKind.PATIENT, PATIENT_ID)
    assert patient != keys.subject_key(SubjectKind.CLAIMED_NAME, PATIENT_ID)
    assert len(patient) == 64


def test_the_verifier_locks_a_number_through_the_dynamo_ledger(ledger, keys, clock) -> None:
    from careline.ehr.model import PatientRecord

    class OnePatientEhr:
        def find_patients_by_phone(self, phone):
            return [PatientRecord(PATIENT_ID, "Rosalind", "Quenby", None, (PHONE,))] if phone == PHONE else []

        def find_patients_by_name_and_birth_date(self, given_name, family_name, birth_date):
            return []

    verifier = IdentityVerifier(OnePatientEhr(), ledger, clock, keys)
    state = verifier.start(VerificationState(), OTHER_PHONE).state
    for _ in range(3):
        step = verifier.answer(state, OTHER_PHONE, "Rosalind Quenby 1/1/1980")
        state = step.state
    assert step.outcome == Locked(newly_locked=True)
    assert verifier.start(VerificationState(), OTHER_PHONE).outcome == Locked(newly_locked=False)
    clock.advance(hours=24, seconds=1)
    assert not isinstance(verifier.start(VerificationState(), OTHER_PHONE).outcome, Locked)
