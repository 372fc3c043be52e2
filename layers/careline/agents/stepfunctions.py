"""`StepFunctionsAcceptance`: the `EscalationWorkflow` port over Step Functions' SendTaskSuccess.

The escalation workflow waits for an agent with `.waitForTaskToken`; the token is stored on the
escalation record. SendTaskSuccess resumes it with ids only (no PHI in an execution's history).
A token nothing waits on any more (the wait timed out, the execution ended or was stopped) is
reported as such, not raised: the accept stands either way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from careline.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

# What SendTaskSuccess answers when no task waits on the token any more.
NOT_WAITING_ERRORS = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})


class StepFunctionsAcceptance:
    def __init__(self, client: SFNClient) -> None:
        self._client = client

    def accepted(self, task_token: str, output: str) -> bool:
        try:
            self._client.send_task_success(taskToken=task_token, output=output)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in NOT_WAITING_ERRORS:
                logger.info("no escalation workflow waits on the task token", extra={"error_code": code})
                return False
            raise
        return True
