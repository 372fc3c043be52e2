"""Steps `AwaitAgent` and `AwaitLateAgent` (`.waitForTaskToken`): keep the wait's task token on the
escalation, for the agent panel to answer when someone accepts (or for the wait to end at once, if
someone accepted before the token was kept)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from careline.composition import get_escalation_runtime
from careline.errors import MalformedEventError
from careline.escalation.workflow import WorkflowInput, await_agent
from careline.observability import logger, metrics, tracer


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """{"party_id", "escalation_id", "task_token"} -> {"waiting": true} or the status that ended it."""
    token = event.get("task_token")
    if not isinstance(token, str) or not token:
        raise MalformedEventError("task_token is missing")
    runtime = get_escalation_runtime()
    result = await_agent(runtime.escalations, runtime.workflows, WorkflowInput.parse(event), token)
    name = "EscalationAwaitingAgent" if result["waiting"] else "EscalationTakenBeforeWait"
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    return result
