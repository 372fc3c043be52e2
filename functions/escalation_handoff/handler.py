"""Step `BuildHandOff` of the escalation state machine: load the escalation and the patient's
context, and answer the routing the state machine follows (ids, urgency, queue, SLA; no PHI)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from careline.composition import get_escalation_runtime
from careline.escalation.workflow import WorkflowInput, hand_off
from careline.observability import logger, metrics, tracer


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """{"party_id", "escalation_id"} -> the hand-off's routing."""
    runtime = get_escalation_runtime()
    result = hand_off(runtime.escalations, runtime.contexts, runtime.config, WorkflowInput.parse(event))
    metrics.add_metric(name="EscalationHandOffBuilt", unit=MetricUnit.Count, value=1)
    return result
