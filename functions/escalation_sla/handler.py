"""Step `MarkTimedOut`: nobody accepted within the SLA. Mark the escalation timed out and tell the
patient honestly when they will hear from us (texts only, never an opted-out number, once)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from careline.composition import get_escalation_runtime
from careline.escalation.workflow import WorkflowInput, expire_sla
from careline.observability import logger, metrics, tracer


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """{"party_id", "escalation_id"} -> {"outcome", "patient_told", ...}."""
    runtime = get_escalation_runtime()
    result = expire_sla(
        runtime.escalations,
        runtime.contexts,
        runtime.messenger,
        runtime.config,
        runtime.clock,
        WorkflowInput.parse(event),
    )
    name = "EscalationSlaMissed" if result["outcome"] == "timed_out" else "EscalationTakenAtSla"
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    return result
