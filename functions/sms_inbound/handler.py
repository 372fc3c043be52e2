"""Lambda entry point for inbound SMS: SNS (End User Messaging two-way SMS) → one conversation turn.

Thin on purpose: parse each record, park what cannot be read, hand the rest to the turn service
under idempotency, and return a small summary. Bad input never raises (a hostile event must not
cause a retry loop); transient failures do raise, so Lambda retries and then its DLQ keeps the event.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from careline.channels.sms import parse_inbound_sms, sns_records
from careline.composition import Runtime, get_runtime
from careline.errors import MalformedEventError
from careline.observability import logger, metrics, tracer


def _park(runtime: Runtime, record: Any, reason: str) -> None:
    quarantine_id = runtime.quarantine.park(record, reason)
    logger.warning("inbound record quarantined", extra={"reason": reason, "quarantine_id": quarantine_id})
    metrics.add_metric(name="InboundSmsQuarantined", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Handle one SNS delivery; returns counts and the turns' summaries (no PHI)."""
    runtime = get_runtime()
    runtime.idempotency_config.register_lambda_context(context)
    try:
        records = list(sns_records(event))
    except MalformedEventError as exc:
        _park(runtime, event, str(exc))
        return {"processed": 0, "quarantined": 1, "turns": []}

    turns: list[dict[str, Any]] = []
    quarantined = 0
    for record in records:
        try:
            inbound = parse_inbound_sms(record)
        except MalformedEventError as exc:
            _park(runtime, record, str(exc))
            quarantined += 1
            continue
        turns.append(runtime.handle_inbound(inbound))
        logger.info("inbound sms handled", extra={"message_id": inbound.message_id})
        metrics.add_metric(name="InboundSmsProcessed", unit=MetricUnit.Count, value=1)
    return {"processed": len(turns), "quarantined": quarantined, "turns": turns}
