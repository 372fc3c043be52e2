"""The agent_api Lambda end to end, in moto: API Gateway REST events carrying the Cognito
authorizer's claims -> the agent panel's use cases -> the table, the outbox, the audit log and the
escalation workflow's wait (moto's Step Functions, executing a state machine)."""

from __future__ import annotations

import importlib.util
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from careline.agents.audit import AuditOutcome
from careline.composition import LocalLambdaContext, Overrides, install_overrides, reset_runtime
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
from careline.escalation import EscalationStatus
from careline.messaging import OutboxMessenger
from careline.store import DynamoContextStore, KmsFieldCipher
from careline.store.audit import DynamoAuditLog
from careline.store.escalations import DynamoEscalationStore
from handler_env import set_environment
from moto.core.config import default_user_config

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-west-2"
PHONE = "+15035550142"
PARTY = "5" * 64
NURSE_PARTY = "6" * 64
NOW = datetime(2026, 3, 3, 18, 0, tzinfo=UTC)
RETENTION_DAYS = 2190


def load_agent_api() -> ModuleType:
    """functions/agent_api/handler.py, imported as Lambda would (by file, not as a package)."""
    spec = importlib.util.spec_from_file_location(
        "agent_api_handler", ROOT / "functions" / "agent_api" / "handler.py"
    )
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cognito_event(
    method: str,
    path: str,
    *,
    username: str | None,
    groups: str | None,
    query: dict[str, str] | None = None,
    body: Any = None,
) -> dict[str, Any]:
    """A REST API proxy event as API Gateway sends it after its Cognito user pool authorizer
    accepted an ID token (claims are strings; `cognito:groups` comma-separated)."""
    parts = path.strip("/").split("/")
    resource, params = path, None
    if parts[0] == "escalations" and len(parts) >= 3:
        resource = "/escalations/{party_id}/{escalation_id}" + (f"/{parts[3]}" if len(parts) == 4 else "")
        params = {"party_id": parts[1], "escalation_id": parts[2]}
    claims: dict[str, str] = {}
    if username is not None:
        claims = {
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, username)),
            "iss": f"https://cognito-idp.{REGION}.amazonaws.com/{REGION}_AbCdEf123",
            "aud": "4example0clientid0abc",
            "token_use": "id",
            "cognito:username": username,
            "email_verified": "true",
            "auth_time": "1772560800",
            "exp": "Tue Mar 03 19:00:00 UTC 2026",
            "iat": "Tue Mar 03 18:00:00 UTC 2026",
        }
        if groups is not None:
            claims["cognito:groups"] = groups
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"Authorization": "eyJraWQi.example.token", "Content-Type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": params,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/panel{path}",
            "stage": "panel",
            "requestId": str(uuid.uuid4()),
            "accountId": "123456789012",
            "apiId": "a1b2c3d4e5",
            "identity": {"sourceIp": "203.0.113.10"},
            "authorizer": {"claims": claims} if claims else None,
        },
        "body": body if body is None or isinstance(body, str) else json.dumps(body),
        "isBase64Encoded": False,
    }


@dataclass
class AgentApi:
    module: ModuleType
    aws: Any  # conftest.AwsStack
    clock: Any  # conftest.FrozenClock
    outbox: OutboxMessenger
    contexts: DynamoContextStore
    escalations: DynamoEscalationStore
    audit: DynamoAuditLog

    def call(
        self, method: str, path: str, user: str | None, groups: str | None, **kwargs: Any
    ) -> tuple[int, dict[str, Any]]:
        event = cognito_event(method, path, username=user, groups=groups, **kwargs)
        response = self.module.handler(event, LocalLambdaContext())
        # a REST API proxy response: Powertools answers with multi-value headers
        headers = {k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()}
        headers.update(response.get("headers") or {})
        body = response["body"]
        if headers.get("Content-Type", "").startswith("application/json"):
            return response["statusCode"], json.loads(body)
        return response["statusCode"], {"html": body, "headers": headers}

    def front_desk(self, method: str, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        return self.call(method, path, "dana.frontdesk", "front_desk", **kwargs)


def escalation(escalation_id: str, queue: Queue, reason: EscalationReason, summary: str) -> EscalationRequest:
    return EscalationRequest(
        escalation_id=escalation_id,
        reason=reason,
        urgency=Urgency.ROUTINE,
        queue=queue,
        summary=summary,
        created_at=NOW - timedelta(minutes=3),
        channel=Channel.SMS,
    )


@pytest.fixture
def api(aws: Any, clock: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[AgentApi]:
    clock.at = NOW
    set_environment(monkeypatch, aws)
    cipher = KmsFieldCipher(aws.kms_key_arn)
    contexts = DynamoContextStore(aws.table_name, cipher, RETENTION_DAYS, clock)
    contexts.save_turn(
        ConversationContext(party_id=PARTY, phone=PHONE),
        [
            TimelineEntry(
                NOW - timedelta(minutes=3), TimelineKind.INBOUND, Channel.SMS, text="a person please"
            ),
            TimelineEntry(
                NOW - timedelta(minutes=3),
                TimelineKind.OUTBOUND,
                Channel.SMS,
                text="Got it. Someone from our front desk will text you back.",
                data={"purpose": "reply"},
            ),
        ],
        [
            escalation(
                "esc-front", Queue.FRONT_DESK, EscalationReason.HUMAN_REQUESTED, "Patient asked for a person."
            )
        ],
    )
    contexts.save_turn(
        ConversationContext(party_id=NURSE_PARTY, phone="+15035550177"),
        [
            TimelineEntry(
                NOW - timedelta(minutes=3), TimelineKind.INBOUND, Channel.SMS, text="double my dose?"
            )
        ],
        [
            escalation(
                "esc-nurse",
                Queue.NURSE,
                EscalationReason.CLINICAL_QUESTION,
                "Asked whether to double a dose.",
            )
        ],
    )
    outbox = OutboxMessenger(clock)
    install_overrides(Overrides(clock=clock, messenger=outbox))
    try:
        yield AgentApi(
            module=load_agent_api(),
            aws=aws,
            clock=clock,
            outbox=outbox,
            contexts=contexts,
            escalations=DynamoEscalationStore(aws.table_name, cipher, RETENTION_DAYS, clock),
            audit=DynamoAuditLog(aws.table_name, RETENTION_DAYS),
        )
    finally:
        reset_runtime()


def raw_audit_items(aws: Any) -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName=aws.table_name)["Items"]
    return [item for item in items if item["pk"]["S"].startswith("AUDIT#")]


# -- the whole path ----------------------------------------------------------------------------


def test_front_desk_lists_views_accepts_replies_and_hands_back(api: AgentApi) -> None:
    status, me = api.front_desk("GET", "/me")
    assert (status, me) == (
        200,
        {
            "user_id": "dana.frontdesk",
            "groups": ["front_desk"],
            "queues": ["front_desk"],
            "supervisor": False,
        },
    )

    status, listed = api.front_desk("GET", "/escalations")
    assert status == 200
    assert [(e["escalation_id"], e["party_id"], e["queue"]) for e in listed["escalations"]] == [
        ("esc-front", PARTY, "front_desk")
    ]
    assert "summary" not in listed["escalations"][0]

    path = f"/escalations/{PARTY}/esc-front"
    status, detail = api.front_desk("GET", path, query={"why": "accepting"})
    assert status == 200
    assert detail["summary"] == "Patient asked for a person."
    assert detail["verification"]["status"] == "not_verified"
    assert [line["text"] for line in detail["transcript"]] == [
        "a person please",
        "Got it. Someone from our front desk will text you back.",
    ]

    api.clock.at = NOW + timedelta(minutes=1)
    status, accepted = api.front_desk("POST", f"{path}/accept")
    assert status == 200
    assert (accepted["status"], accepted["owner"], accepted["workflow"]) == (
        "accepted",
        "dana.frontdesk",
        "no_token",
    )
    context = api.contexts.load(PARTY)
    assert context is not None
    assert context.human_owner == "dana.frontdesk"
    record = api.escalations.get(PARTY, "esc-front")
    assert record is not None
    assert record.time_to_accept_seconds == 240.0

    status, _ = api.front_desk("POST", f"{path}/reply", body={"text": "Hi, Dana here. How can I help?"})
    assert status == 200
    assert [(m.to, m.body) for m in api.outbox.list()] == [(PHONE, "Hi, Dana here. How can I help?")]
    staff_line = api.contexts.timeline(PARTY)[-1]
    assert staff_line.text == "Hi, Dana here. How can I help?"
    assert staff_line.data["purpose"] == "staff_reply"
    assert staff_line.data["staff"] == "dana.frontdesk"

    status, handed = api.front_desk("POST", f"{path}/hand-back")
    assert (status, handed["status"], handed["patient_told"]) == (200, "closed", True)
    context = api.contexts.load(PARTY)
    assert context is not None
    assert context.human_owner is None
    record = api.escalations.get(PARTY, "esc-front")
    assert record is not None
    assert (record.status, record.closed_by) == (EscalationStatus.CLOSED, "dana.frontdesk")
    assert api.front_desk("GET", "/escalations")[1]["escalations"] == []


# -- who may read what -------------------------------------------------------------------------


def test_a_front_desk_user_gets_403_on_a_nurse_queue_escalation(api: AgentApi) -> None:
    path = f"/escalations/{NURSE_PARTY}/esc-nurse"
    status, body = api.front_desk("GET", path, query={"why": "accepting"})
    assert status == 403
    assert "nurse queue" in body["error"]
    assert "dose" not in json.dumps(body)
    for action, payload in (("accept", None), ("reply", {"text": "hi"}), ("hand-back", None)):
        assert api.front_desk("POST", f"{path}/{action}", body=payload)[0] == 403
    assert api.outbox.list() == []

    # the refused read is on the audit log, with nothing read
    [denied] = api.audit.entries_on(NOW.date())
    assert (denied.user_id, denied.escalation_id, denied.outcome) == (
        "dana.frontdesk",
        "esc-nurse",
        AuditOutcome.DENIED,
    )
    assert denied.fields == ()

    # a nurse may read it, and a nurse does not see the front desk's
    nurse_status, nurse_view = api.call("GET", path, "nina.nurse", "nurse", query={"why": "replying"})
    assert (nurse_status, nurse_view["summary"]) == (200, "Asked whether to double a dose.")
    nurse_list = api.call("GET", "/escalations", "nina.nurse", "nurse")[1]["escalations"]
    assert [e["escalation_id"] for e in nurse_list] == ["esc-nurse"]
    supervisor_list = api.call("GET", "/escalations", "sam.supervisor", "supervisor")[1]["escalations"]
    assert {e["escalation_id"] for e in supervisor_list} == {"esc-front", "esc-nurse"}


def test_each_view_writes_an_audit_item_without_phi(api: AgentApi) -> None:
    path = f"/escalations/{PARTY}/esc-front"
    first = api.front_desk("GET", path, query={"why": "accepting"})[1]
    api.clock.at = NOW + timedelta(seconds=30)
    second = api.call("GET", path, "sam.supervisor", "supervisor,nurse", query={"why": "supervision"})[1]

    entries = api.audit.entries_on(NOW.date())
    assert [(e.audit_id, e.user_id, e.groups, e.why.value) for e in entries] == [
        (first["audit_id"], "dana.frontdesk", ("front_desk",), "accepting"),
        (second["audit_id"], "sam.supervisor", ("supervisor", "nurse"), "supervision"),
    ]
    assert entries[0].fields == ("reason", "summary", "verification_status", "transcript")
    items = raw_audit_items(api.aws)
    assert len(items) == 2
    item = next(i for i in items if i["audit_id"]["S"] == first["audit_id"])
    assert item["pk"]["S"] == "AUDIT#2026-03-03"
    assert item["sk"]["S"] == f"2026-03-03T18:00:00.000000Z#{first['audit_id']}"
    assert item["party_id"]["S"] == PARTY
    assert int(item["expires_at"]["N"]) == int((NOW + timedelta(days=RETENTION_DAYS)).timestamp())
    flat = json.dumps(items)
    for phi in (PHONE, "a person please", "Patient asked for a person."):
        assert phi not in flat


def test_a_view_without_a_reason_is_refused_and_not_audited(api: AgentApi) -> None:
    status, body = api.front_desk("GET", f"/escalations/{PARTY}/esc-front")
    assert status == 400
    assert "why" in body["error"]
    assert api.front_desk("GET", f"/escalations/{PARTY}/esc-front", query={"why": "curious"})[0] == 400
    assert raw_audit_items(api.aws) == []


# -- accept and the escalation workflow ----------------------------------------------------------


@pytest.fixture
def waiting_workflow(api: AgentApi, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A state machine execution waiting for an agent (`.waitForTaskToken`, the token handed out on
    a queue), its token kept on the front desk escalation as the workflow's wait state keeps it."""
    monkeypatch.setitem(default_user_config["stepfunctions"], "execute_state_machine", True)
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="agent-wait")["QueueUrl"]
    definition = {
        "StartAt": "AwaitAgent",
        "States": {
            "AwaitAgent": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": queue_url, "MessageBody": {"token.$": "$$.Task.Token"}},
                "End": True,
            }
        },
    }
    sfn = boto3.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="escalation-test",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/escalation-test",
    )
    execution = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name="esc-front")
    token = None
    deadline = time.monotonic() + 10
    while token is None and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0).get("Messages", []):
            token = json.loads(message["Body"])["token"]
        time.sleep(0.05)
    assert token, "the execution never reached its wait"
    api.escalations.await_agent(PARTY, "esc-front", token)
    return {"execution_arn": execution["executionArn"], "token": token}


def test_accept_sends_task_success_and_the_workflow_completes(
    api: AgentApi, waiting_workflow: dict[str, str]
) -> None:
    sfn = boto3.client("stepfunctions")
    arn = waiting_workflow["execution_arn"]
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"

    status, accepted = api.front_desk("POST", f"/escalations/{PARTY}/esc-front/accept")
    assert (status, accepted["workflow"]) == (200, "notified")

    deadline = time.monotonic() + 10
    described = sfn.describe_execution(executionArn=arn)
    while described["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.05)
        described = sfn.describe_execution(executionArn=arn)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"escalation_id": "esc-front", "status": "accepted"}

    # accepting again (a retried request) finds no wait any more and still stands
    again = api.front_desk("POST", f"/escalations/{PARTY}/esc-front/accept")[1]
    assert (again["status"], again["workflow"]) == ("accepted", "not_waiting")


def test_someone_else_cannot_accept_what_was_taken(api: AgentApi) -> None:
    path = f"/escalations/{PARTY}/esc-front/accept"
    assert api.front_desk("POST", path)[0] == 200
    status, body = api.call("POST", path, "lee.frontdesk", "front_desk")
    assert status == 409
    assert "taken by dana.frontdesk" in body["error"]
    status, body = api.call(
        "POST", f"/escalations/{PARTY}/esc-front/reply", "lee.frontdesk", "front_desk", body={"text": "hi"}
    )
    assert status == 403


# -- refusals ----------------------------------------------------------------------------------


def test_an_opted_out_patient_is_not_texted(api: AgentApi) -> None:
    path = f"/escalations/{PARTY}/esc-front"
    api.front_desk("POST", f"{path}/accept")
    context = api.contexts.load(PARTY)
    assert context is not None
    context.opted_out = True
    api.contexts.save_turn(context, [])

    status, body = api.front_desk("POST", f"{path}/reply", body={"text": "hello"})
    assert status == 409
    assert "opted out" in body["error"]
    assert api.outbox.list() == []


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "expected"),
    [
        ("POST", f"/escalations/{PARTY}/esc-front/reply", {"body": "{not json"}, 400),
        (
            "POST",
            f"/escalations/{PARTY}/esc-front/reply",
            {"body": {"text": "hi", "to": "+15035550100"}},
            400,
        ),
        ("POST", f"/escalations/{PARTY}/esc-front/reply", {"body": {"text": 42}}, 400),
        ("GET", "/escalations/not-a-party/esc-front", {"query": {"why": "review"}}, 400),
        ("GET", f"/escalations/{PARTY}/esc-missing", {"query": {"why": "review"}}, 404),
        ("POST", f"/escalations/{PARTY}/esc-front/hand-back", {}, 409),
        ("GET", "/nowhere", {}, 404),
    ],
)
def test_bad_requests_get_clear_errors(
    api: AgentApi, method: str, path: str, kwargs: dict[str, Any], expected: int
) -> None:
    status, body = api.front_desk(method, path, **kwargs)
    assert status == expected
    assert body["error"]


def test_who_is_asking_comes_from_the_authorizer_only(api: AgentApi) -> None:
    assert api.call("GET", "/escalations", None, None)[0] == 401
    # a body naming another user or group changes nothing
    status, _ = api.front_desk(
        "POST",
        f"/escalations/{NURSE_PARTY}/esc-nurse/accept",
        body={"user": "sam.supervisor", "groups": "supervisor"},
    )
    assert status == 403
    # no group: no queues
    assert api.call("GET", "/escalations", "newhire", None)[1] == {"escalations": []}


def test_the_page_is_served_with_its_sign_in_and_policy(
    api: AgentApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert api.call("GET", "/", None, None)[0] == 404  # no page configured in this environment
    monkeypatch.setenv(
        "CARELINE_AGENT_PANEL_URL", "https://a1b2c3d4e5.execute-api.us-west-2.amazonaws.com/panel/"
    )
    monkeypatch.setenv("CARELINE_AGENT_AUTH_DOMAIN", "https://careline-test.auth.us-west-2.amazoncognito.com")
    monkeypatch.setenv("CARELINE_AGENT_CLIENT_ID", "4example0clientid0abc")
    install_overrides(Overrides(clock=api.clock, messenger=api.outbox))  # rebuilt from the new environment

    status, page = api.call("GET", "/", None, None)
    assert status == 200
    assert '"api_base": "/panel"' in page["html"]
    assert '"client_id": "4example0clientid0abc"' in page["html"]
    csp = page["headers"]["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "connect-src 'self' https://careline-test.auth.us-west-2.amazoncognito.com" in csp
