"""`StepFunctionsAcceptance` against botocore's Stubber: SendTaskSuccess with ids only, and a token
nothing waits on any more reported, not raised."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from careline.agents.stepfunctions import StepFunctionsAcceptance

TOKEN = "AQCEAAAAKgAAAAMAAAAA-example-task-token"
OUTPUT = json.dumps({"escalation_id": "esc-1", "status": "accepted"})


@pytest.fixture
def client() -> Any:
    return boto3.session.Session(
        region_name="us-west-2", aws_access_key_id="testing", aws_secret_access_key="testing"
    ).client("stepfunctions")


def test_accept_sends_task_success_with_the_ids(client: Any) -> None:
    with Stubber(client) as stub:
        stub.add_response("send_task_success", {}, {"taskToken": TOKEN, "output": OUTPUT})
        assert StepFunctionsAcceptance(client).accepted(TOKEN, OUTPUT) is True
        stub.assert_no_pending_responses()


@pytest.mark.parametrize("code", ["TaskTimedOut", "TaskDoesNotExist", "InvalidToken"])
def test_a_token_nothing_waits_on_is_reported_not_raised(client: Any, code: str) -> None:
    with Stubber(client) as stub:
        stub.add_client_error("send_task_success", service_error_code=code, http_status_code=400)
        assert StepFunctionsAcceptance(client).accepted(TOKEN, OUTPUT) is False


def test_any_other_failure_is_raised(client: Any) -> None:
    with Stubber(client) as stub:
        stub.add_client_error(
            "send_task_success", service_error_code="ThrottlingException", http_status_code=400
        )
        with pytest.raises(ClientError, match="ThrottlingException"):
            StepFunctionsAcceptance(client).accepted(TOKEN, OUTPUT)
