"""Step `RecordTimeToAccept`: the wait ended; for an accepted escalation, the time to accept as a
metric (`EscalationTimeToAccept`, seconds, dimensions urgency and queue)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from careline.composition import get_escalation_runtime
from careline.escalation.workflow import WorkflowInput, acceptance
from careline.observability import logger, metrics, tracer

TIME_TO_ACCEPT_METRIC = "EscalationTimeToAccept"


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """{"party_id", "escalation_id"} -> {"status", "time_to_accept_seconds"?}."""
    result, accepted = acceptance(get_escalation_runtime().escalations, WorkflowInput.parse(event))
    if accepted is not None:
        # This function emits no other metric, so the dimensions belong to this one alone.
        metrics.add_dimension(name="urgency", value=accepted.urgency)
        metrics.add_dimension(name="queue", value=accepted.queue)
        metrics.add_metric(name=TIME_TO_ACCEPT_METRIC, unit=MetricUnit.Seconds, value=accepted.seconds)
        logger.info(
            "escalation time to accept",
            extra={"escalation_id": event.get("escalation_id"), "seconds": accepted.seconds},
        )
    else:
        metrics.add_metric(name="EscalationClosedUnaccepted", unit=MetricUnit.Count, value=1)
    return result
