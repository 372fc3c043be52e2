"""Lambda entry point for the waitlist backfill (EventBridge Scheduler, every few minutes).

Each open freed time moves on one step: let go when too close or given away, left alone while an
offer is held, else offered to the next waitlist candidate by SMS. Failures raise (the scheduler
retries, then its dead-letter queue); an offer is recorded before it is sent, so a retry never
offers one slot to two people at once.
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
    """Any scheduler event -> {"offered", "filled", "expired", "waiting", ...}."""
    report = get_reminder_runtime().backfill.run().to_json()
    metrics.add_metric(name="WaitlistOffersSent", unit=MetricUnit.Count, value=report["offered"])
    metrics.add_metric(name="WaitlistSlotsExpired", unit=MetricUnit.Count, value=report["expired"])
    logger.info("waitlist backfill done", extra={"counts": report})
    return report
