"""Lambda entry point for the reminders state machine's `Plan` state: the reminders due now.

Returns `{"sends": [...], "counts": {...}, "scores_stale": ...}`: each due send with its
place-in-line delay (paced to the origination identity's messages per second), which the state
machine's Map puts on the send queue. Nothing is sent here, so a re-run plan only re-queues what the
sender will refuse to send twice. When the scores are stale it plans nothing and says so: the state
machine then runs the scoring and asks again.
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
    """The state machine's input -> {"sends": [...], "counts": {...}, "scores_stale": bool}.

    `{"after_scoring": true}` (the state machine's second plan, after it ran a stale scoring) plans
    whatever the scores' age."""
    after_scoring = isinstance(event, dict) and event.get("after_scoring") is True
    plan = get_reminder_runtime().campaign.plan(after_scoring=after_scoring).to_json()
    metrics.add_metric(name="RemindersDue", unit=MetricUnit.Count, value=len(plan["sends"]))
    logger.info("reminders planned", extra={"counts": plan["counts"]})
    return plan
