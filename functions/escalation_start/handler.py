"""Lambda entry point for the `escalation_requested` rule on the Careline bus: start the escalation
workflow for that escalation, once.

The execution is named by the escalation id, so EventBridge's at-least-once delivery starts one
execution per escalation. An event without readable ids is logged (by field, never by value) and
dropped: retrying it would never help. Failures to start raise, so Lambda retries, then its DLQ.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from careline.composition import get_escalation_runtime
from careline.errors import MalformedEventError
from careline.escalation.workflow import start_workflow
from careline.observability import logger, metrics, tracer


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """An EventBridge `escalation_requested` event -> {"escalation_id", "started"}."""
    detail = event.get("detail")
    try:
        result = start_workflow(
            get_escalation_runtime().workflows, detail if isinstance(detail, dict) else {}
        )
    except MalformedEventError as exc:
        logger.warning("escalation event unreadable", extra={"reason": str(exc)})
        metrics.add_metric(name="EscalationEventUnreadable", unit=MetricUnit.Count, value=1)
        return {"started": False, "unreadable": str(exc)}
    name = "EscalationWorkflowStarted" if result["started"] else "EscalationWorkflowRedelivered"
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    return result
