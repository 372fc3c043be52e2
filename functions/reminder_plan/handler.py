"""Lambda entry point for the reminders state machine's `Plan` state: the reminders due now.

Returns `{"sends": [...], "counts": {...}}`: each due send with its place-in-line delay (paced to
the origination identity's messages per second), which the state machine's Map puts on the send
queue. Nothing is sent here, so a re-run plan only re-queues what the sender will refuse to send
twice.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from careline.composition import get_reminder_runtime
from careline.observability import logger, metrics, tracer


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The state machine's input (ignored) -> {"sends": [...], "counts": {...}}."""
    plan = get_reminder_runtime().campaign.plan().to_json()
    metrics.add_metric(name="RemindersDue", unit=MetricUnit.Count, value=len(plan["sends"]))
    logger.info("reminders planned", extra={"counts": plan["counts"]})
    return plan
