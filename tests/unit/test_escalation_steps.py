"""Each step of the escalation state machine, over in-memory ports: what it reads, writes and
answers (ids only), and how it meets an escalation someone else already took."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from careline.config import PracticeConfig, load_practice_config
from careline.conversation.model import (
    Channel,
    ConversationContext,
    EscalationReason,
    EscalationRequest,
    Queue,
    Urgency,
)
from careline.errors import MalformedEventError
from careline.escalation import (
    AlreadyTaken,
    EscalationNotFound,
    EscalationStatus,
    WorkflowInput,
    task_success_output,
)
from careline.escalation.workflow import (
    START_EVENT_PATTERN,
    acceptance,
    await_agent,
    create_agent_task,
    expire_sla,
    hand_off,
    start_workflow,
)

from tests.unit.fakes import (
    SAMPLE_CONFIG,
    FixedClock,
    InMemoryContextStore,
    InMemoryEscalationStore,
    RecordingMessenger,
    RecordingWorkflows,
    RecordingWorkItems,
    local,
)

PARTY = "party-0123abcd"
PHONE = "+15035550142"
SUMMARY = "Patient asked to talk to a person. Last messages: Patient: my knee still hurts after the fall"


@pytest.fixture(scope="module")
def practice() -> PracticeConfig:
    return load_practice_config(SAMPLE_CONFIG)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(local(2026, 3, 3, 10))


@pytest.fixture
def escalations() -> InMemoryEscalationStore:
    return InMemoryEscalationStore()


@pytest.fixture
def contexts() -> InMemoryContextStore:
    store = InMemoryContextStore()
    store.contexts[PARTY] = ConversationContext(party_id=PARTY, phone=PHONE, version=1)
    return store


def escalate(
    escalations: InMemoryEscalationStore,
    clock: FixedClock,
    *,
    urgency: Urgency = Urgency.ROUTINE,
    queue: Queue = Queue.FRONT_DESK,
    channel: Channel = Channel.SMS,
) -> WorkflowInput:
    request = EscalationRequest(
        escalation_id="7d3c2a5e-0000-5000-8000-000000000001",
        reason=EscalationReason.HUMAN_REQUESTED,
        urgency=urgency,
        queue=queue,
        summary=SUMMARY,
        created_at=clock.now(),
        channel=channel,
    )
    escalations.add(request, PARTY)
    return WorkflowInput(party_id=PARTY, escalation_id=request.escalation_id)


def test_the_start_rule_matches_what_the_engine_publishes() -> None:
    assert START_EVENT_PATTERN == {"source": ["careline"], "detail-type": ["escalation_requested"]}


def test_one_execution_per_escalation_however_often_the_event_comes() -> None:
    workflows = RecordingWorkflows()
    detail = {"party_id": PARTY, "escalation_id": "e-1", "reason": "human_requested", "urgency": "routine"}
    assert start_workflow(workflows, detail) == {"escalation_id": "e-1", "started": True}
    assert start_workflow(workflows, detail) == {"escalation_id": "e-1", "started": False}
    assert workflows.started == [("e-1", PARTY)]


@pytest.mark.parametrize(
    ("detail", "named"),
    [
        ({"escalation_id": "e-1"}, "party_id"),
        ({"party_id": PARTY, "escalation_id": "no spaces allowed"}, "escalation_id"),
        ({"party_id": PARTY, "escalation_id": "x" * 81}, "escalation_id"),
    ],
)
def test_an_unreadable_event_names_the_field_never_its_value(detail: dict[str, str], named: str) -> None:
    with pytest.raises(MalformedEventError, match=named) as raised:
        WorkflowInput.parse(detail)
    assert "no spaces" not in str(raised.value)


def test_the_hand_off_answers_the_routing_and_no_phi(
    escalations: InMemoryEscalationStore,
    contexts: InMemoryContextStore,
    clock: FixedClock,
    practice: PracticeConfig,
) -> None:
    ids = escalate(escalations, clock, urgency=Urgency.CRISIS, queue=Queue.CRISIS)
    out = hand_off(escalations, contexts, practice, ids)
    assert out["status"] == "open"
    assert out["urgency"] == "crisis"
    assert out["queue"] == "crisis"
    assert out["sla_seconds"] == 5 * 60
    assert out["follow_up_seconds"] == 72 * 3600
    assert out["page_on_call"] is True
    assert out["create_task"] is True
    assert out["patient_textable"] is True
    text = json.dumps(out)
    assert PHONE not in text
    assert "knee" not in text


def test_the_hand_off_of_an_unknown_escalation_fails_for_good(
    escalations: InMemoryEscalationStore, contexts: InMemoryContextStore, practice: PracticeConfig
) -> None:
    with pytest.raises(EscalationNotFound):
        hand_off(escalations, contexts, practice, WorkflowInput(PARTY, "missing"))


def test_an_agent_task_names_the_queue_links_the_panel_and_is_idempotent(
    escalations: InMemoryEscalationStore, clock: FixedClock, practice: PracticeConfig
) -> None:
    ids = escalate(escalations, clock, queue=Queue.NURSE)
    work_items = RecordingWorkItems()
    out = create_agent_task(escalations, work_items, practice, "https://panel.example/prod", ids)
    assert out == {"created": True, "contact_id": "contact-1"}
    (task,) = work_items.tasks
    assert task.queue is Queue.NURSE
    assert task.client_token == ids.escalation_id
    assert task.link == f"https://panel.example/prod/escalations/{PARTY}/{ids.escalation_id}"
    assert task.attributes["careline_queue"] == "nurse"
    assert task.attributes["careline_escalation_id"] == ids.escalation_id
    assert "knee" not in json.dumps([task.name, task.description, dict(task.attributes)])


def test_without_connect_no_task_is_created(
    escalations: InMemoryEscalationStore, clock: FixedClock, practice: PracticeConfig
) -> None:
    ids = escalate(escalations, clock)
    assert create_agent_task(escalations, None, practice, None, ids) == {
        "created": False,
        "skipped": "no_connect_instance",
    }


def test_an_escalation_accepted_before_its_task_gets_none(
    escalations: InMemoryEscalationStore, clock: FixedClock, practice: PracticeConfig
) -> None:
    ids = escalate(escalations, clock)
    escalations.accept(PARTY, ids.escalation_id, "agent-7", clock.now())
    work_items = RecordingWorkItems()
    out = create_agent_task(escalations, work_items, practice, None, ids)
    assert out == {"created": False, "skipped": "escalation_accepted"}
    assert work_items.tasks == []


def test_the_wait_keeps_its_token_on_the_escalation(
    escalations: InMemoryEscalationStore, clock: FixedClock
) -> None:
    ids = escalate(escalations, clock)
    workflows = RecordingWorkflows()
    assert await_agent(escalations, workflows, ids, "token-1") == {"waiting": True}
    record = escalations.get(PARTY, ids.escalation_id)
    assert record is not None
    assert record.task_token == "token-1"
    assert "token-1" not in repr(record)
    assert "task_token" not in record.to_json()
    assert workflows.succeeded == []


def test_an_agent_faster_than_the_wait_ends_it_at_once(
    escalations: InMemoryEscalationStore, clock: FixedClock
) -> None:
    ids = escalate(escalations, clock)
    escalations.accept(PARTY, ids.escalation_id, "agent-7", clock.now() + timedelta(seconds=30))
    workflows = RecordingWorkflows()
    assert await_agent(escalations, workflows, ids, "token-1") == {"waiting": False, "status": "accepted"}
    output = json.dumps({"escalation_id": ids.escalation_id, "status": "accepted"})
    assert workflows.succeeded == [("token-1", output)]


def test_accepting_records_who_and_the_time_to_accept(
    escalations: InMemoryEscalationStore, clock: FixedClock
) -> None:
    ids = escalate(escalations, clock)
    escalations.await_agent(PARTY, ids.escalation_id, "token-1")
    record = escalations.accept(PARTY, ids.escalation_id, "agent-7", clock.now() + timedelta(minutes=4))
    assert record.status is EscalationStatus.ACCEPTED
    assert record.time_to_accept_seconds == 240.0
    assert record.task_token == "token-1"
    output = json.loads(task_success_output(record))
    assert output == {"escalation_id": ids.escalation_id, "status": "accepted"}
    with pytest.raises(AlreadyTaken) as taken:
        escalations.accept(PARTY, ids.escalation_id, "agent-9", clock.now())
    assert taken.value.accepted_by == "agent-7"
    out, metric = acceptance(escalations, ids)
    assert out == {"status": "accepted", "time_to_accept_seconds": 240.0}
    assert metric is not None
    assert (metric.urgency, metric.queue, metric.seconds) == ("routine", "front_desk", 240.0)


def test_a_closed_escalation_records_no_time_to_accept(
    escalations: InMemoryEscalationStore, clock: FixedClock
) -> None:
    ids = escalate(escalations, clock)
    escalations.close(PARTY, ids.escalation_id, clock.now(), by="agent-7")
    out, metric = acceptance(escalations, ids)
    assert out == {"status": "closed"}
    assert metric is None


def test_a_missed_sla_times_it_out_and_tells_the_patient_once(
    escalations: InMemoryEscalationStore,
    contexts: InMemoryContextStore,
    clock: FixedClock,
    practice: PracticeConfig,
) -> None:
    ids = escalate(escalations, clock)
    escalations.await_agent(PARTY, ids.escalation_id, "token-1")
    clock.advance(timedelta(minutes=16))
    messenger = RecordingMessenger()
    out = expire_sla(escalations, contexts, messenger, practice, clock, ids)
    assert out["outcome"] == "timed_out"
    assert out["patient_told"] is True
    assert out["message_key"] == "escalation_delayed_in_hours"
    record = escalations.get(PARTY, ids.escalation_id)
    assert record is not None
    assert record.status is EscalationStatus.TIMED_OUT
    assert record.task_token is None  # that wait is over
    (sent,) = messenger.sent
    assert sent[0] == PHONE
    assert "as soon as possible today" in sent[1]
    assert escalations.notices[ids.escalation_id][2]["message_key"] == "escalation_delayed_in_hours"
    # the step retried: the patient is not texted twice
    again = expire_sla(escalations, contexts, messenger, practice, clock, ids)
    assert again == {"outcome": "timed_out", "patient_told": False, "not_told": "told_before"}
    assert len(messenger.sent) == 1


def test_an_opted_out_patient_is_not_texted(
    escalations: InMemoryEscalationStore,
    contexts: InMemoryContextStore,
    clock: FixedClock,
    practice: PracticeConfig,
) -> None:
    ids = escalate(escalations, clock)
    contexts.contexts[PARTY].opted_out = True
    messenger = RecordingMessenger()
    out = expire_sla(escalations, contexts, messenger, practice, clock, ids)
    assert out == {"outcome": "timed_out", "patient_told": False, "not_told": "opted_out"}
    assert messenger.sent == []


def test_a_caller_is_not_texted_when_the_sla_passes(
    escalations: InMemoryEscalationStore,
    contexts: InMemoryContextStore,
    clock: FixedClock,
    practice: PracticeConfig,
) -> None:
    ids = escalate(escalations, clock, channel=Channel.VOICE)
    messenger = RecordingMessenger()
    out = expire_sla(escalations, contexts, messenger, practice, clock, ids)
    assert out == {"outcome": "timed_out", "patient_told": False, "not_told": "call"}
    assert messenger.sent == []


def test_an_agent_who_accepts_as_the_sla_passes_wins(
    escalations: InMemoryEscalationStore,
    contexts: InMemoryContextStore,
    clock: FixedClock,
    practice: PracticeConfig,
) -> None:
    ids = escalate(escalations, clock)
    escalations.accept(PARTY, ids.escalation_id, "agent-7", clock.now())
    messenger = RecordingMessenger()
    out = expire_sla(escalations, contexts, messenger, practice, clock, ids)
    assert out == {"outcome": "accepted", "patient_told": False}
    assert messenger.sent == []


def test_a_timed_out_escalation_can_still_be_taken(
    escalations: InMemoryEscalationStore, clock: FixedClock
) -> None:
    ids = escalate(escalations, clock)
    escalations.time_out(PARTY, ids.escalation_id, clock.now())
    escalations.await_agent(PARTY, ids.escalation_id, "token-2")
    record = escalations.accept(PARTY, ids.escalation_id, "agent-7", clock.now() + timedelta(hours=2))
    assert record.task_token == "token-2"
    assert record.time_to_accept_seconds == 7200.0
