"""Lambda entry point for the nightly no-show scoring (EventBridge Scheduler, practice time).

Scores every booked visit of the next `reminders.horizon_days` from the EHR and stores its risk and
tier; sees cancellations made in the EHR (their times go to the waitlist) and the outcomes of past
visits. An EHR that cannot answer raises: the scheduler retries, then its dead-letter queue, and
the function's error alarm fires.
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
    """Any scheduler event -> {"scored", "failed", "cancelled_seen", "outcomes_seen", "by_tier"}."""
    runtime = get_reminder_runtime()
    report = runtime.scoring.run().to_json()
    metrics.add_metric(name="VisitsScored", unit=MetricUnit.Count, value=report["scored"])
    metrics.add_metric(name="ScoringFailures", unit=MetricUnit.Count, value=report["failed"])
    metrics.add_metric(name="CancellationsSeen", unit=MetricUnit.Count, value=report["cancelled_seen"])
    for tier, count in report["by_tier"].items():
        metrics.add_metric(name=f"VisitsScored_{tier}", unit=MetricUnit.Count, value=count)
    for outcomes in report["outcomes_by_tier"]:
        # the last 30 days' no-show rate of each tier, once any of its visits has settled
        if outcomes["no_show_rate"] is not None:
            name = f"NoShowRate_{outcomes['tier']}"
            metrics.add_metric(name=name, unit=MetricUnit.Percent, value=100 * outcomes["no_show_rate"])
    logger.info("no-show scoring done", extra={"report": report, "model": runtime.model.version})
    return report
