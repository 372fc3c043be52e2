"""DynamoEscalationStore against moto: the escalations a turn saved, read back with the summary
decrypted, and every status change one conditional write that moves the queue index with it."""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest
from careline.conversation.model import (
    Channel,
    ConversationContext,
    EscalationReason,
    EscalationRequest,
    Queue,
    TimelineKind,
    Urgency,
)
from careline.escalation import AlreadyTaken, EscalationNotFound, EscalationStatus
from careline.store import DynamoContextStore, KmsFieldCipher
from careline.store.escalations import DynamoEscalationStore

PARTY = "a" * 64
OTHER_PARTY = "b" * 64
PHONE = "+15035550188"
SUMMARY = "Patient Dana Whitlock (+15035550188) asks to reschedule. Last messages: ..."


@pytest.fixture
def cipher(aws):
    return KmsFieldCipher(aws.kms_key_arn)


@pytest.fixture
def contexts(aws, cipher, clock):
    return DynamoContextStore(aws.table_name, cipher, 30, clock, region="us-west-2")


@pytest.fixture
def store(aws, cipher, clock):
    return DynamoEscalationStore(aws.table_name, cipher, 30, clock, region="us-west-2")


def save_escalation(contexts, clock, party_id: str = PARTY, **overrides) -> EscalationRequest:
    """What a turn saves: the context and its escalation, in the turn's one transaction."""
    fields = {
        "escalation_id": f"esc-{clock.now():%H%M%S%f}",
        "reason": EscalationReason.HUMAN_REQUESTED,
        "urgency": Urgency.ROUTINE,
        "queue": Queue.FRONT_DESK,
        "summary": SUMMARY,
        "created_at": clock.now(),
        "channel": Channel.SMS,
        **overrides,
    }
    request = EscalationRequest(**fields)
    context = contexts.load(party_id) or ConversationContext(party_id=party_id, phone=PHONE)
    contexts.save_turn(context, [], [request])
    return request


def _items(table_name: str) -> list[dict]:
    return boto3.client("dynamodb").scan(TableName=table_name)["Items"]


def test_an_escalation_reads_back_with_its_summary_decrypted(store, contexts, clock):
    request = save_escalation(contexts, clock)
    record = store.get(PARTY, request.escalation_id)
    assert record is not None
    assert record.summary == SUMMARY
    assert record.status is EscalationStatus.OPEN
    assert (record.urgency, record.queue, record.channel) == (Urgency.ROUTINE, Queue.FRONT_DESK, Channel.SMS)
    assert record.created_at == clock.now()
    assert store.get(PARTY, "esc-unknown") is None
    assert store.get(OTHER_PARTY, request.escalation_id) is None


def test_a_queues_open_list_is_oldest_first_and_only_open(store, contexts, clock):
    first = save_escalation(contexts, clock)
    clock.advance(minutes=1)
    nurse = save_escalation(contexts, clock, party_id=OTHER_PARTY, queue=Queue.NURSE)
    clock.advance(minutes=1)
    taken = save_escalation(contexts, clock)
    clock.advance(minutes=1)
    billing = save_escalation(contexts, clock, queue=Queue.BILLING)
    store.accept(PARTY, taken.escalation_id, "agent-7", clock.now())

    listed = store.open_in_queues([Queue.FRONT_DESK, Queue.NURSE])
    assert [r.escalation_id for r in listed] == [first.escalation_id, nurse.escalation_id]
    assert [r.escalation_id for r in store.open_in_queues([Queue.BILLING])] == [billing.escalation_id]
    assert store.open_in_queues([Queue.CRISIS]) == []


def test_two_agents_accepting_at_once_cannot_both_win(store, contexts, clock):
    request = save_escalation(contexts, clock)
    store.await_agent(PARTY, request.escalation_id, "token-1")
    at = clock.now() + timedelta(minutes=3, seconds=30)
    won = store.accept(PARTY, request.escalation_id, "agent-7", at)
    assert won.status is EscalationStatus.ACCEPTED
    assert won.accepted_by == "agent-7"
    assert won.accepted_at == at
    assert won.time_to_accept_seconds == 210.0
    assert won.task_token == "token-1"
    with pytest.raises(AlreadyTaken) as lost:
        store.accept(PARTY, request.escalation_id, "agent-9", at)
    assert (lost.value.status, lost.value.accepted_by) == ("accepted", "agent-7")
    # the same agent again (a retried request) gets the same answer
    assert store.accept(PARTY, request.escalation_id, "agent-7", at + timedelta(seconds=5)) == won
    with pytest.raises(AlreadyTaken):
        store.await_agent(PARTY, request.escalation_id, "token-2")


def test_the_index_key_moves_with_the_status(store, contexts, clock, aws):
    request = save_escalation(contexts, clock)

    def index_key() -> str:
        (item,) = [i for i in _items(aws.table_name) if i["sk"]["S"].startswith("ESC#")]
        return item["gsi1sk"]["S"]

    assert index_key().startswith("open#")
    store.time_out(PARTY, request.escalation_id, clock.now() + timedelta(minutes=15))
    assert index_key().startswith("timed_out#2026-03-02T17:04:05")  # still ordered by creation
    store.accept(PARTY, request.escalation_id, "agent-7", clock.now() + timedelta(minutes=20))
    assert index_key().startswith("accepted#2026-03-02T17:24:05")
    store.close(PARTY, request.escalation_id, clock.now() + timedelta(minutes=30), by="agent-7")
    assert index_key().startswith("closed#2026-03-02T17:34:05")


def test_timing_out_drops_the_spent_token_and_is_idempotent(store, contexts, clock):
    request = save_escalation(contexts, clock)
    store.await_agent(PARTY, request.escalation_id, "token-1")
    at = clock.now() + timedelta(minutes=15)
    timed_out = store.time_out(PARTY, request.escalation_id, at)
    assert timed_out.status is EscalationStatus.TIMED_OUT
    assert timed_out.timed_out_at == at
    assert timed_out.task_token is None
    assert store.time_out(PARTY, request.escalation_id, at + timedelta(seconds=1)) == timed_out
    # it still waits for someone: the late wait keeps its own token, and an agent may take it
    assert store.await_agent(PARTY, request.escalation_id, "token-2").task_token == "token-2"
    late = store.accept(PARTY, request.escalation_id, "agent-7", at + timedelta(hours=1))
    assert late.task_token == "token-2"
    with pytest.raises(AlreadyTaken):
        store.time_out(PARTY, request.escalation_id, at)


def test_closing_hands_back_the_token_of_a_wait_in_progress(store, contexts, clock):
    request = save_escalation(contexts, clock)
    store.await_agent(PARTY, request.escalation_id, "token-1")
    closed = store.close(PARTY, request.escalation_id, clock.now(), by="agent-7")
    assert closed.status is EscalationStatus.CLOSED
    assert closed.closed_by == "agent-7"
    assert closed.task_token == "token-1"
    assert store.close(PARTY, request.escalation_id, clock.now() + timedelta(minutes=1)) == closed
    with pytest.raises(AlreadyTaken):
        store.accept(PARTY, request.escalation_id, "agent-7", clock.now())


def test_an_unknown_escalation_is_not_found(store):
    for change in (
        lambda: store.await_agent(PARTY, "esc-unknown", "token"),
        lambda: store.accept(PARTY, "esc-unknown", "agent-7", None),
        lambda: store.time_out(PARTY, "esc-unknown", None),
        lambda: store.close(PARTY, "esc-unknown", None),
    ):
        with pytest.raises(EscalationNotFound):
            change()


def test_the_patient_notice_joins_the_timeline_once_and_encrypted(store, contexts, clock, aws):
    request = save_escalation(contexts, clock)
    text = "Sorry for the wait, Dana. Someone will contact you as soon as possible today."
    data = {"purpose": "escalation_delay", "message_key": "escalation_delayed_in_hours"}
    at = clock.now() + timedelta(minutes=15)
    assert store.record_patient_notice(PARTY, request.escalation_id, text, at, data) is True
    assert store.record_patient_notice(PARTY, request.escalation_id, text, at, data) is False
    (entry,) = contexts.timeline(PARTY)
    assert (entry.kind, entry.channel, entry.text, entry.at) == (TimelineKind.OUTBOUND, Channel.SMS, text, at)
    assert entry.data["message_key"] == "escalation_delayed_in_hours"
    record = store.get(PARTY, request.escalation_id)
    assert record is not None
    assert record.patient_told_at == at
    raw = str(_items(aws.table_name))
    assert "Dana" not in raw
    assert PHONE not in raw
