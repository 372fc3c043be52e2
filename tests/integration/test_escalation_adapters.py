"""The escalation workflow's two AWS adapters: Amazon Connect StartTaskContact (moto has no Connect:
botocore's Stubber checks every request against the real API model) and Step Functions (moto)."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from careline.conversation.model import Queue
from careline.escalation import AgentTask
from careline.escalation.connect_tasks import CONNECT_CLIENT_CONFIG, PANEL_REFERENCE, ConnectAgentTasks
from careline.escalation.stepfunctions import StepFunctionsWorkflow
from moto import mock_aws

INSTANCE_ID = "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"
FLOW_ID = "11111111-2222-3333-4444-555555555555"
CONTACT_ID = "99999999-8888-7777-6666-555555555555"

TASK = AgentTask(
    name="Careline routine: front desk (human requested)",
    description="A patient is waiting for a person. Open the agent panel link.",
    queue=Queue.FRONT_DESK,
    client_token="7d3c2a5e-0000-5000-8000-000000000001",
    link="https://panel.example/prod/escalations/party/7d3c2a5e-0000-5000-8000-000000000001",
    attributes={
        "careline_queue": "front_desk",
        "careline_escalation_id": "7d3c2a5e-0000-5000-8000-000000000001",
    },
)


@pytest.fixture
def connect(aws_credentials: None):
    client = boto3.client("connect", region_name="us-west-2", config=CONNECT_CLIENT_CONFIG)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_a_task_runs_the_task_flow_with_the_queue_attribute_and_the_panel_link(connect) -> None:
    client, stubber = connect
    stubber.add_response(
        "start_task_contact",
        {"ContactId": CONTACT_ID},
        {
            "InstanceId": INSTANCE_ID,
            "ContactFlowId": FLOW_ID,
            "Name": TASK.name,
            "Description": TASK.description,
            "Attributes": dict(TASK.attributes),
            "References": {PANEL_REFERENCE: {"Value": TASK.link, "Type": "URL"}},
            "ClientToken": TASK.client_token,
        },
    )
    assert ConnectAgentTasks(client, INSTANCE_ID, FLOW_ID).create_task(TASK) == CONTACT_ID


def test_a_task_without_a_panel_link_carries_no_reference(connect) -> None:
    client, stubber = connect
    task = AgentTask(name="n", description="d", queue=Queue.NURSE, client_token="t-1")
    expected = {
        "InstanceId": INSTANCE_ID,
        "ContactFlowId": FLOW_ID,
        "Name": "n",
        "Description": "d",
        "Attributes": {},
        "References": {},
        "ClientToken": "t-1",
    }
    stubber.add_response("start_task_contact", {"ContactId": CONTACT_ID}, expected)
    assert ConnectAgentTasks(client, INSTANCE_ID, FLOW_ID).create_task(task) == CONTACT_ID


def test_a_connect_refusal_raises_for_the_state_machine_to_retry(connect) -> None:
    client, stubber = connect
    stubber.add_client_error("start_task_contact", "ThrottlingException", http_status_code=429)
    with pytest.raises(ClientError, match="ThrottlingException"):
        ConnectAgentTasks(client, INSTANCE_ID, FLOW_ID).create_task(TASK)


def test_an_execution_per_escalation_named_by_its_id(aws_credentials: None) -> None:
    with mock_aws():
        sfn = boto3.client("stepfunctions", region_name="us-west-2")
        machine = sfn.create_state_machine(
            name="careline-escalation",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn="arn:aws:iam::123456789012:role/careline-escalation",
        )["stateMachineArn"]
        workflows = StepFunctionsWorkflow(sfn, machine)
        assert workflows.start("esc-1", "party-1") is True
        (execution,) = sfn.list_executions(stateMachineArn=machine)["executions"]
        assert execution["name"] == "esc-1"
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        assert json.loads(described["input"]) == {"party_id": "party-1", "escalation_id": "esc-1"}
        # redelivered with other input (moto keeps the first one running): no second execution
        assert workflows.start("esc-1", "party-2") is False
        assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == 1
