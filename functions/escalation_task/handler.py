"""Step `CreateAgentTask`: an Amazon Connect task in the escalation's queue, linking to the agent
panel (skipped without a Connect instance). Idempotent: the escalation id is the client token."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from careline.composition import get_escalation_runtime
from careline.escalation.workflow import WorkflowInput, create_agent_task
from careline.observability import logger, metrics, tracer


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """{"party_id", "escalation_id"} -> {"created", "contact_id"} or {"created": false, "skipped"}."""
    runtime = get_escalation_runtime()
    result = create_agent_task(
        runtime.escalations,
        runtime.work_items,
        runtime.config,
        runtime.settings.agent_panel_url,
        WorkflowInput.parse(event),
    )
    name = "EscalationTaskCreated" if result["created"] else "EscalationTaskSkipped"
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    return result
