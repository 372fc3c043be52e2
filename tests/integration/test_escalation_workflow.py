"""The escalation workflow end to end in moto: the real ASL (`statemachines/escalation.asl.json`)
executed by moto's interpreter, its Lambda tasks the real `functions/escalation_*` handlers run in
this process, started by the real start rule from a real inbound text (the local stack's wiring,
`careline_local.aws` and `careline_local.stack`). Connect, which moto lacks, is botocore's Stubber.

Retry waits are recorded instead of slept (moto sleeps them in real time); nothing else is faked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest
from botocore.stub import ANY, Stubber
from careline import composition
from careline.config import load_practice_config
from careline.conversation.model import Queue
from careline.escalation import EscalationStatus, task_success_output
from careline.escalation.connect_tasks import ConnectAgentTasks
from careline_local.aws import in_process_aws
from careline_local.clock import LocalClock
from careline_local.paths import PRACTICE_CONFIG
from careline_local.stack import LocalStack
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

PORTLAND = ZoneInfo("America/Los_Angeles")
PATIENT = "+15035550188"
CALLER = "+15035550189"
INSTANCE_ID = "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"
TASK_FLOW_ID = "11111111-2222-3333-4444-555555555555"
PANEL_URL = "https://panel.example/prod"
ASK_FOR_A_PERSON = "can I talk to a person about my bill from march"  # the front desk takes it


@dataclass
class RecordedSleeps:
    """Stands in for `time` in moto's retrier: the backoff it asks for, without the wait."""

    seconds: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.seconds.append(seconds)


@dataclass
class Workflow:
    stack: LocalStack
    connect: Stubber
    sleeps: RecordedSleeps

    def party(self, phone: str) -> str:
        return self.stack._party_keys.party_for_phone(phone)

    def calls(self, folder: str) -> list[Any]:
        name = self.stack.workflow.functions[folder]
        return [call for call in self.stack.lambda_routes.invocations if call.function == name]

    def accept(self, phone: str, escalation_id: str, agent: str = "agent-7") -> None:
        """What the agent panel does: accept in the store, then end the wait with the token."""
        record = self.stack.escalation_store().accept(
            self.party(phone), escalation_id, agent, self.stack.clock.now()
        )
        assert record.task_token, "the workflow should be waiting with its token kept"
        boto3.client("stepfunctions").send_task_success(
            taskToken=record.task_token, output=task_success_output(record)
        )


@pytest.fixture
def workflow(monkeypatch: pytest.MonkeyPatch) -> Iterator[Workflow]:
    config = load_practice_config(PRACTICE_CONFIG)
    sleeps = RecordedSleeps()
    monkeypatch.setattr(retrier_decl, "time", sleeps)
    with in_process_aws(
        config.deployment.region, config_path=str(PRACTICE_CONFIG), origination_identity=config.practice.phone
    ) as resources:
        monkeypatch.setenv("CARELINE_AGENT_PANEL_URL", PANEL_URL)
        # Tuesday 10:00 in Portland: every queue is staffed
        clock = LocalClock(datetime(2026, 3, 3, 10, tzinfo=PORTLAND))
        stack = LocalStack(resources=resources, clock=clock, config=config)
        connect_client = boto3.client("connect", region_name=config.deployment.region)
        stubber = Stubber(connect_client)
        stubber.activate()
        composition.install_escalation_overrides(
            composition.EscalationOverrides(
                work_items=ConnectAgentTasks(connect_client, INSTANCE_ID, TASK_FLOW_ID)
            )
        )
        try:
            yield Workflow(stack=stack, connect=stubber, sleeps=sleeps)
        finally:
            composition.install_escalation_overrides(None)
            stubber.deactivate()
            stack.close()


def expect_task(workflow: Workflow, queue: str) -> None:
    workflow.connect.add_response(
        "start_task_contact",
        {"ContactId": "99999999-8888-7777-6666-555555555555"},
        {
            "InstanceId": INSTANCE_ID,
            "ContactFlowId": TASK_FLOW_ID,
            "Name": ANY,
            "Description": ANY,
            "Attributes": ANY,
            "References": ANY,
            "ClientToken": ANY,
        },
    )


def escalate_by_text(workflow: Workflow, text: str = ASK_FOR_A_PERSON, phone: str = PATIENT) -> str:
    outcome = workflow.stack.send_sms(phone, text)
    (escalation,) = outcome.escalations
    return escalation.escalation_id


def test_an_sms_escalation_becomes_a_connect_task_and_waits_with_its_token(workflow: Workflow) -> None:
    expect_task(workflow, "front_desk")
    escalation_id = escalate_by_text(workflow)

    assert workflow.stack.escalation_executions() == {escalation_id: "RUNNING"}
    (hand_off,) = workflow.calls("escalation_handoff")
    assert hand_off.result["queue"] == "front_desk"
    assert hand_off.result["sla_seconds"] == 15 * 60  # the front desk promises 15 minutes
    (task,) = workflow.calls("escalation_task")
    assert task.result == {"created": True, "contact_id": "99999999-8888-7777-6666-555555555555"}
    workflow.connect.assert_no_pending_responses()
    record = workflow.stack.escalation_store().get(workflow.party(PATIENT), escalation_id)
    assert record is not None
    assert record.task_token
    assert record.status is EscalationStatus.OPEN
    # a routine escalation pages nobody
    assert workflow.stack.escalation_pages() == []


def test_the_connect_task_carries_ids_and_the_panel_link_not_phi(workflow: Workflow) -> None:
    seen: dict[str, Any] = {}

    def keep(params: dict[str, Any], **_: Any) -> None:
        seen.update(params)

    workflow.connect.add_response(
        "start_task_contact", {"ContactId": "99999999-8888-7777-6666-555555555555"}, None
    )
    client = workflow.connect.client
    client.meta.events.register_first("before-parameter-build.connect.StartTaskContact", keep)
    escalation_id = escalate_by_text(workflow)
    party = workflow.party(PATIENT)
    assert seen["ClientToken"] == escalation_id
    assert seen["Attributes"]["careline_queue"] == "front_desk"
    assert seen["References"]["Agent panel"]["Value"] == f"{PANEL_URL}/escalations/{party}/{escalation_id}"
    assert "march" not in json.dumps(seen)
    assert PATIENT not in json.dumps(seen)


def test_accepting_completes_the_execution_and_records_the_time_to_accept(
    workflow: Workflow, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    expect_task(workflow, "front_desk")
    escalation_id = escalate_by_text(workflow)
    workflow.stack.clock.advance(timedelta(minutes=7))
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    capsys.readouterr()

    workflow.accept(PATIENT, escalation_id)

    assert workflow.stack.escalation_executions() == {escalation_id: "SUCCEEDED"}
    (recorded,) = workflow.calls("escalation_accepted")
    assert recorded.result == {"status": "accepted", "time_to_accept_seconds": 420.0}
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    (metric,) = [m for m in emitted if "EscalationTimeToAccept" in m]
    assert metric["EscalationTimeToAccept"] == [420.0]
    assert (metric["urgency"], metric["queue"]) == ("routine", "front_desk")
    (directive,) = metric["_aws"]["CloudWatchMetrics"]
    assert {"urgency", "queue"} <= set(directive["Dimensions"][0])


def test_a_missed_sla_tells_the_supervisor_and_the_patient_then_waits_for_someone(workflow: Workflow) -> None:
    expect_task(workflow, "front_desk")
    escalation_id = escalate_by_text(workflow)
    party = workflow.party(PATIENT)

    workflow.stack.clock.advance(timedelta(minutes=10))
    report, outcome = workflow.stack.run_job("escalation_sla")
    assert report.counts == {"expired": 0, "waiting": 1}  # the front desk promised 15 minutes
    assert outcome.sent == []

    workflow.stack.clock.advance(timedelta(minutes=6))
    report, outcome = workflow.stack.run_job("escalation_sla")
    assert report.counts == {"expired": 1, "waiting": 0}
    (told,) = workflow.stack.workflow_sms()
    assert told.to == PATIENT
    assert "as soon as possible today" in told.text
    assert [m.text for m in outcome.sent] == [told.text]
    (page,) = workflow.stack.escalation_pages()
    assert page.topic == "supervisor"
    assert escalation_id in page.message
    assert "15 minutes" in page.message
    assert PATIENT not in page.message
    record = workflow.stack.escalation_store().get(party, escalation_id)
    assert record is not None
    assert record.status is EscalationStatus.TIMED_OUT
    assert record.task_token, "the late wait keeps a token of its own"
    assert workflow.stack.escalation_executions() == {escalation_id: "RUNNING"}

    # someone takes it late: the same execution ends, and the time to accept counts from the start
    workflow.accept(PATIENT, escalation_id)
    assert workflow.stack.escalation_executions() == {escalation_id: "SUCCEEDED"}
    (recorded,) = workflow.calls("escalation_accepted")
    assert recorded.result["time_to_accept_seconds"] == 16 * 60.0


def test_nobody_accepting_in_the_follow_up_window_fails_the_execution_loudly(workflow: Workflow) -> None:
    expect_task(workflow, "front_desk")
    escalation_id = escalate_by_text(workflow)
    workflow.stack.clock.advance(timedelta(minutes=16))
    workflow.stack.run_job("escalation_sla")
    workflow.stack.clock.advance(timedelta(hours=73))
    report, _ = workflow.stack.run_job("escalation_sla")
    assert report.counts["expired"] == 1
    assert workflow.stack.escalation_executions() == {escalation_id: "FAILED"}
    subjects = [p.subject for p in workflow.stack.escalation_pages()]
    assert subjects == ["Careline: escalation SLA missed", "Careline: escalation still not accepted"]
    (failed,) = [
        e for e in workflow.stack.escalation_history(escalation_id) if e["type"] == "ExecutionFailed"
    ]
    assert failed["executionFailedEventDetails"]["error"] == "Careline.EscalationUnanswered"


def test_an_emergency_pages_on_call_at_once_with_ids_only(workflow: Workflow) -> None:
    expect_task(workflow, "front_desk")
    text = "my dad is having chest pain and can't breathe what do i do"
    outcome = workflow.stack.send_sms(PATIENT, text)
    (escalation,) = outcome.escalations
    assert escalation.urgency == "emergency"
    (page,) = workflow.stack.escalation_pages()
    assert page.topic == "on_call"
    assert escalation.escalation_id in page.message
    assert "(emergency urgency)" in page.message
    assert "chest" not in page.message
    assert PATIENT not in page.message
    (hand_off,) = workflow.calls("escalation_handoff")
    assert hand_off.result["sla_seconds"] == 2 * 60


def test_the_execution_history_holds_ids_and_no_phi(workflow: Workflow) -> None:
    expect_task(workflow, "front_desk")
    escalation_id = escalate_by_text(workflow)
    workflow.stack.clock.advance(timedelta(minutes=16))
    workflow.stack.run_job("escalation_sla")
    workflow.accept(PATIENT, escalation_id)
    history = json.dumps(workflow.stack.escalation_history(escalation_id), default=str)
    assert escalation_id in history
    for phi in (PATIENT, "5035550188", "march", "bill from", "Sorry for the wait"):
        assert phi not in history


def test_a_failing_step_retries_with_backoff_then_fails_into_the_failure_queue_path(
    workflow: Workflow,
) -> None:
    workflow.stack.lambda_routes.failures[workflow.stack.workflow.functions["escalation_handoff"]] = 10
    escalation_id = escalate_by_text(workflow)

    assert workflow.stack.escalation_executions() == {escalation_id: "FAILED"}
    attempts = workflow.calls("escalation_handoff")
    assert [a.error for a in attempts] == ["ConnectionError"] * 4  # the first try and three retries
    assert len(workflow.sleeps.seconds) == 3
    # full jitter: each wait at most the doubling interval (2 s, 4 s, 8 s)
    for waited, bound in zip(workflow.sleeps.seconds, (2, 4, 8), strict=True):
        assert 0 <= waited <= bound
    history = workflow.stack.escalation_history(escalation_id)
    (failed,) = [e for e in history if e["type"] == "ExecutionFailed"]
    assert failed["executionFailedEventDetails"]["error"] == "Careline.EscalationWorkflowFailed"
    # the escalation itself is not lost: it stays open in the agent panel's list
    (still_open,) = workflow.stack.escalation_store().open_in_queues([Queue.FRONT_DESK])
    assert still_open.escalation_id == escalation_id


def test_a_failed_connect_task_tells_the_supervisor_and_still_waits(workflow: Workflow) -> None:
    for _ in range(4):  # the first try and three retries
        workflow.connect.add_client_error(
            "start_task_contact", "InternalServiceException", http_status_code=500
        )
    escalation_id = escalate_by_text(workflow)
    assert workflow.stack.escalation_executions() == {escalation_id: "RUNNING"}
    (page,) = workflow.stack.escalation_pages()
    assert page.subject == "Careline: agent task not created"
    record = workflow.stack.escalation_store().get(workflow.party(PATIENT), escalation_id)
    assert record is not None
    assert record.task_token


def test_a_redelivered_start_event_starts_no_second_execution(workflow: Workflow) -> None:
    expect_task(workflow, "front_desk")
    escalation_id = escalate_by_text(workflow)
    start = workflow.stack.workflow.functions["escalation_start"]
    from careline_local.stack import _lambda_context, escalation_handler

    event = {
        "source": "careline",
        "detail-type": "escalation_requested",
        "detail": {"party_id": workflow.party(PATIENT), "escalation_id": escalation_id},
    }
    assert start
    escalation_handler("escalation_start")(event, _lambda_context("escalation-start"))
    assert workflow.stack.escalation_executions() == {escalation_id: "RUNNING"}


def test_a_call_escalation_waits_for_accept_without_a_task_and_texts_nobody(workflow: Workflow) -> None:
    start = workflow.stack.start_call(CALLER)
    turn = workflow.stack.say(start.call_id, "I need to talk to a person please")
    assert turn.transfer_queue == "front_desk"
    escalation_id = turn.escalation_id
    assert escalation_id is not None
    assert workflow.stack.escalation_executions() == {escalation_id: "RUNNING"}
    assert workflow.calls("escalation_task") == []  # the contact flow put the call in the queue

    workflow.stack.clock.advance(timedelta(minutes=16))
    _, outcome = workflow.stack.run_job("escalation_sla")
    assert outcome.sent == []
    (expired,) = workflow.calls("escalation_sla")
    assert expired.result == {"outcome": "timed_out", "patient_told": False, "not_told": "call"}


def test_the_real_timeout_is_caught_like_the_local_sla_failure(workflow: Workflow) -> None:
    # moto counts TimeoutSecondsPath in real time: shorten this one hand-off's SLA to a second
    name = workflow.stack.workflow.functions["escalation_handoff"]
    hand_off = workflow.stack.lambda_routes.handlers[name]

    def one_second_sla(event: dict[str, Any], context: Any) -> Any:
        return {**hand_off(event, context), "sla_seconds": 1}

    workflow.stack.lambda_routes.handlers[name] = one_second_sla
    expect_task(workflow, "front_desk")
    escalation_id = escalate_by_text(workflow)
    party = workflow.party(PATIENT)

    def timed_out() -> bool:
        record = workflow.stack.escalation_store().get(party, escalation_id)
        return record is not None and record.status is EscalationStatus.TIMED_OUT and bool(record.task_token)

    assert workflow.stack._wait_until(timed_out)
    assert [c.result["outcome"] for c in workflow.calls("escalation_sla")] == ["timed_out"]
    history = workflow.stack.escalation_history(escalation_id)
    assert any(e["type"] == "TaskTimedOut" for e in history)
