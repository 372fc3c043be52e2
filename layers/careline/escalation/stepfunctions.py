"""`StepFunctionsWorkflow`: the `WorkflowControl` port over the Step Functions API (an adapter)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from careline.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient


class StepFunctionsWorkflow:
    """Starts the escalation state machine and answers its waits.

    One execution per escalation: it is named by the escalation id, so a second start of the same
    escalation (EventBridge delivers at least once) is refused by Step Functions and is no error here.
    """

    def __init__(self, client: SFNClient, state_machine_arn: str) -> None:
        self._client = client
        self._state_machine_arn = state_machine_arn

    def start(self, escalation_id: str, party_id: str) -> bool:
        """StartExecution named `escalation_id` with the two ids as input; False if that name is taken
        by an execution that has ended (or had other input)."""
        body = json.dumps({"party_id": party_id, "escalation_id": escalation_id})
        try:
            response = self._client.start_execution(
                stateMachineArn=self._state_machine_arn, name=escalation_id, input=body
            )
        except self._client.exceptions.ExecutionAlreadyExists:
            logger.info("escalation workflow already started", extra={"escalation_id": escalation_id})
            return False
        # A running execution started again with the same name and input is returned as it is (no
        # second execution): a redelivery while the first still runs looks like a start here.
        logger.info("escalation workflow started", extra={"execution_arn": response["executionArn"]})
        return True

    def succeed_task(self, task_token: str, output: str) -> None:
        self._client.send_task_success(taskToken=task_token, output=output)

    def fail_task(self, task_token: str, error: str, cause: str) -> None:
        self._client.send_task_failure(taskToken=task_token, error=error, cause=cause)
