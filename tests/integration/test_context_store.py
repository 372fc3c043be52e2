"""DynamoContextStore against moto: one-write turns, encrypted PHI, hashed keys, one-query timeline."""

from __future__ import annotations

import json
from datetime import timedelta
from unittest import mock

import boto3
import pytest
from careline.conversation.model import (
    Channel,
    ConversationContext,
    EscalationReason,
    EscalationRequest,
    Queue,
    TimelineEntry,
    TimelineKind,
    Urgency,
)
from careline.errors import ConcurrentTurnError
from careline.store import DynamoContextStore, HmacPartyKeys, KmsFieldCipher
from pynamodb.connection.base import Connection

PHONE = "+15035550188"
TEXT = "Can Dana Whitlock move her visit? Her birthday is 1979-08-23"
RETENTION_DAYS = 30


@pytest.fixture
def keys(aws):
    return HmacPartyKeys(aws.hash_secret_arn)


@pytest.fixture
def cipher(aws):
    return KmsFieldCipher(aws.kms_key_arn)


@pytest.fixture
def store(aws, cipher, clock):
    return DynamoContextStore(aws.table_name, cipher, RETENTION_DAYS, clock, region="us-west-2")


def _turn(clock, text: str = TEXT) -> list[TimelineEntry]:
    return [
        TimelineEntry(at=clock.now(), kind=TimelineKind.INBOUND, channel=Channel.SMS, text=text),
        TimelineEntry(
            at=clock.now(),
            kind=TimelineKind.OUTBOUND,
            channel=Channel.SMS,
            text="We can help. A person from our team will text you soon.",
            data={"purpose": "reply", "intent": "reschedule"},
        ),
    ]


def _escalation(clock) -> EscalationRequest:
    return EscalationRequest(
        escalation_id="esc-0001",
        reason=EscalationReason.HUMAN_REQUESTED,
        urgency=Urgency.ROUTINE,
        queue=Queue.FRONT_DESK,
        summary=f"Patient Dana Whitlock ({PHONE}) asks to reschedule",
        created_at=clock.now(),
        channel=Channel.SMS,
    )


def _scan(table_name: str) -> list[dict]:
    return boto3.client("dynamodb").scan(TableName=table_name)["Items"]


def test_new_party_has_no_context(store, keys):
    assert store.load(keys.party_for_phone(PHONE)) is None


def test_saved_turn_loads_back_with_phi_decrypted(store, keys, clock):
    party = keys.party_for_phone(PHONE)
    context = ConversationContext(
        party_id=party,
        phone=PHONE,
        active_flow="reschedule",
        flow_state={"patient_name": "Dana Whitlock", "birth_date": "1979-08-23", "choice": 2},
        failed_understandings=1,
        escalation_open=True,
        last_activity=clock.now(),
    )
    store.save_turn(context, _turn(clock), [_escalation(clock)])

    loaded = store.load(party)
    assert loaded == ConversationContext(
        party_id=party,
        phone=PHONE,
        active_flow="reschedule",
        flow_state={"patient_name": "Dana Whitlock", "birth_date": "1979-08-23", "choice": 2},
        failed_understandings=1,
        escalation_open=True,
        last_activity=clock.now(),
        version=1,
    )
    assert context.version == 1, "a successful save advances the caller's version too"
    assert [(e.kind, e.text, e.data) for e in store.timeline(party)] == [
        (TimelineKind.INBOUND, TEXT, {}),
        (
            TimelineKind.OUTBOUND,
            "We can help. A person from our team will text you soon.",
            {"purpose": "reply", "intent": "reschedule"},
        ),
    ]


def test_no_plaintext_phi_in_any_attribute_or_key(aws, store, keys, clock):
    party = keys.party_for_phone(PHONE)
    context = ConversationContext(
        party_id=party, phone=PHONE, flow_state={"patient_name": "Dana Whitlock", "dob": "1979-08-23"}
    )
    store.save_turn(context, _turn(clock), [_escalation(clock)])

    items = _scan(aws.table_name)
    assert len(items) == 4  # context, two timeline entries, one escalation
    raw = json.dumps(items)
    for secret in (PHONE, PHONE[2:], "5550188", "Dana", "Whitlock", "1979-08-23", "birthday"):
        assert secret not in raw, f"plaintext PHI fragment found in the table: {secret!r}"
    for item in items:
        assert item["pk"]["S"] == f"PARTY#{party}"
        assert len(party) == 64
        assert all(c in "0123456789abcdef" for c in party)


def test_ciphertext_decrypts_only_for_its_own_patient_and_field(aws, store, keys, clock, cipher):
    party = keys.party_for_phone(PHONE)
    other = keys.party_for_phone("+15035550177")
    store.save_turn(ConversationContext(party_id=party, phone=PHONE), _turn(clock))
    first = min(
        (i for i in _scan(aws.table_name) if i["sk"]["S"].startswith("TL#")), key=lambda i: i["sk"]["S"]
    )
    ciphertext = first["text_enc"]["S"]

    assert cipher.decrypt(ciphertext, {"party": party, "field": "text"}) == TEXT
    with pytest.raises(Exception, match="context"):
        # the same ciphertext pasted onto another patient's item must not read as theirs
        cipher.decrypt(ciphertext, {"party": other, "field": "text"})
    with pytest.raises(Exception, match="context"):
        cipher.decrypt(ciphertext, {"party": party, "field": "summary"})


def test_a_warm_store_writes_a_returning_patients_turn_without_new_data_keys(aws, store, keys, clock):
    """Data keys are cached per container: the second turn of a patient makes no GenerateDataKey call."""
    from botocore.client import BaseClient

    party = keys.party_for_phone(PHONE)
    context = ConversationContext(party_id=party, phone=PHONE)
    store.save_turn(context, _turn(clock, text="first"))
    store.load(party)  # the container's first read of this data key asks KMS once
    calls: list[str] = []
    original = BaseClient._make_api_call

    def counting(client, operation, params):
        calls.append(operation)
        return original(client, operation, params)

    BaseClient._make_api_call = counting
    try:
        store.save_turn(context, _turn(clock, text="second"))
        store.load(party)
    finally:
        BaseClient._make_api_call = original
    assert "GenerateDataKey" not in calls
    assert "Decrypt" not in calls


def test_timeline_is_one_query_oldest_first(store, keys, clock):
    party = keys.party_for_phone(PHONE)
    context = ConversationContext(party_id=party, phone=PHONE)
    for n in range(3):
        store.save_turn(context, _turn(clock, text=f"message {n}"))
        clock.advance(minutes=5)

    with mock.patch.object(Connection, "query", autospec=True, side_effect=Connection.query) as query:
        timeline = store.timeline(party)
    assert query.call_count == 1
    assert [e.text for e in timeline if e.kind is TimelineKind.INBOUND] == [
        "message 0",
        "message 1",
        "message 2",
    ]
    assert [e.at for e in timeline] == sorted(e.at for e in timeline)
    assert [e.text for e in store.timeline(party, limit=2)][-1].startswith("We can help")
    assert len(store.timeline(party, limit=2)) == 2


def test_two_turns_at_the_same_instant_keep_both_entries(store, keys, clock):
    party = keys.party_for_phone(PHONE)
    context = ConversationContext(party_id=party, phone=PHONE)
    store.save_turn(context, _turn(clock, text="first"))
    store.save_turn(context, _turn(clock, text="second"))  # the local clock did not move

    inbound = [e.text for e in store.timeline(party) if e.kind is TimelineKind.INBOUND]
    assert inbound == ["first", "second"]


def test_stale_version_is_refused_and_writes_nothing(aws, store, keys, clock):
    party = keys.party_for_phone(PHONE)
    store.save_turn(ConversationContext(party_id=party, phone=PHONE), _turn(clock))
    first_reader = store.load(party)
    second_reader = store.load(party)
    assert first_reader is not None
    assert second_reader is not None
    clock.advance(seconds=1)
    store.save_turn(first_reader, _turn(clock, text="from the first turn"))

    before = len(_scan(aws.table_name))
    with pytest.raises(ConcurrentTurnError):
        store.save_turn(second_reader, _turn(clock, text="from the racing turn"), [_escalation(clock)])
    assert len(_scan(aws.table_name)) == before
    assert "from the racing turn" not in [e.text for e in store.timeline(party)]


def test_second_first_contact_for_the_same_party_is_refused(store, keys, clock):
    party = keys.party_for_phone(PHONE)
    store.save_turn(ConversationContext(party_id=party, phone=PHONE), _turn(clock))
    with pytest.raises(ConcurrentTurnError):
        store.save_turn(ConversationContext(party_id=party, phone=PHONE), _turn(clock))


def test_items_expire_after_the_retention_period(aws, store, keys, clock):
    party = keys.party_for_phone(PHONE)
    store.save_turn(ConversationContext(party_id=party, phone=PHONE), _turn(clock), [_escalation(clock)])
    expected = int((clock.now() + timedelta(days=RETENTION_DAYS)).timestamp())
    assert {int(item["expires_at"]["N"]) for item in _scan(aws.table_name)} == {expected}


def test_escalation_is_indexed_by_queue_for_the_agent_view(aws, store, keys, clock):
    party = keys.party_for_phone(PHONE)
    store.save_turn(ConversationContext(party_id=party, phone=PHONE), _turn(clock), [_escalation(clock)])
    found = boto3.client("dynamodb").query(
        TableName=aws.table_name,
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :q AND begins_with(gsi1sk, :s)",
        ExpressionAttributeValues={":q": {"S": "QUEUE#front_desk"}, ":s": {"S": "open#"}},
    )["Items"]
    assert [(i["escalation_id"]["S"], i["reason"]["S"], i["urgency"]["S"]) for i in found] == [
        ("esc-0001", "human_requested", "routine")
    ]


def test_where_a_patients_open_flow_lives_is_written_with_the_turn_and_kept_a_day(store, keys, clock, aws):
    party = keys.party_for_phone(PHONE)
    patient_key = "ab" * 32  # a keyed hash of the patient id, as PatientFlows makes it
    context = ConversationContext(party_id=party, phone=PHONE, active_flow="appointments")
    assert store.party_with_open_flow(patient_key) is None

    store.save_turn(context, _turn(clock), patient_key=patient_key)
    assert store.party_with_open_flow(patient_key) == party
    keys_written = {item["pk"]["S"] for item in _scan(aws.table_name)}
    assert f"PATIENT#{patient_key}" in keys_written

    clock.advance(hours=25)
    assert store.party_with_open_flow(patient_key) is None, "past its day, as if TTL had removed it"


def test_a_turn_without_a_patient_key_writes_no_record_of_one(store, keys, clock, aws):
    party = keys.party_for_phone(PHONE)
    store.save_turn(ConversationContext(party_id=party, phone=PHONE), _turn(clock))
    assert not any(item["pk"]["S"].startswith("PATIENT#") for item in _scan(aws.table_name))


def test_staff_take_a_conversation_over_and_hand_it_back_moving_the_version(store, keys, clock):
    party = keys.party_for_phone(PHONE)
    context = ConversationContext(party_id=party, phone=PHONE, escalation_open=True)
    store.save_turn(context, _turn(clock))

    store.set_human_owner(party, "frontdesk-jo")
    owned = store.load(party)
    assert owned.human_owner == "frontdesk-jo"
    assert owned.version == 2, "a turn decided on the old context is refused"
    with pytest.raises(ConcurrentTurnError):
        store.save_turn(context, _turn(clock))

    store.set_human_owner(party, None)
    back = store.load(party)
    assert back.human_owner is None
    assert back.escalation_open is False
    with pytest.raises(KeyError):
        store.set_human_owner(keys.party_for_phone("+15035550111"), "frontdesk-jo")


def test_a_staff_reply_joins_the_timeline_encrypted_in_order(store, keys, clock, aws):
    party = keys.party_for_phone(PHONE)
    store.save_turn(ConversationContext(party_id=party, phone=PHONE), _turn(clock))
    clock.advance(minutes=3)
    reply = TimelineEntry(
        at=clock.now(),
        kind=TimelineKind.OUTBOUND,
        channel=Channel.SMS,
        text="Hi Dana, this is Jo at the front desk. Thursday at 2 works.",
        data={"purpose": "staff_reply", "staff": "frontdesk-jo"},
    )
    store.record_staff_message(party, reply)
    timeline = store.timeline(party)
    assert timeline[-1] == reply
    assert "Dana" not in json.dumps(_scan(aws.table_name))
