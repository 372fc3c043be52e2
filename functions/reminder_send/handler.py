"""Lambda entry point for the reminder send queue: each due send delivered at most once.

SQS invokes this at the bounded concurrency the event source allows; the queue's per-message delays
pace the sends. Each record is one due send: re-planned, claimed in the ledger, sent. A failed send
(a throttled API, a table that did not answer) is reported back as a batch item failure, so only it
is retried, and after five tries it waits in the dead-letter queue with its alarm; an unreadable
record goes the same way (kept, never dropped). A send that is no longer due (the patient replied
STOP, the visit was cancelled, the window closed) is not sent: the next run plans it afresh.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from careline.composition import get_reminder_runtime
from careline.observability import logger, metrics, tracer
from careline.reminders.campaign import DueSend

processor = BatchProcessor(event_type=EventType.SQS)


def _deliver(record: SQSRecord) -> None:
    try:
        body = json.loads(record.body)
        send = DueSend.from_json(body if isinstance(body, dict) else {})
    except (ValueError, TypeError) as exc:
        logger.error("reminder send unreadable", extra={"reason": str(exc), "message_id": record.message_id})
        metrics.add_metric(name="ReminderSendUnreadable", unit=MetricUnit.Count, value=1)
        raise
    delivery = get_reminder_runtime().campaign.deliver(send)
    logger.info(
        "reminder send",
        extra={
            "key": send.key,
            "outcome": delivery.outcome,
            "reason": delivery.reason,
            "channel": delivery.channel,
        },
    )
    if delivery.outcome == "sent":
        metrics.add_metric(name=f"ReminderSent_{delivery.channel}", unit=MetricUnit.Count, value=1)
    else:
        metrics.add_metric(name=f"ReminderNotSent_{delivery.outcome}", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """An SQS batch of due sends -> {"batchItemFailures": [...]}."""
    response = process_partial_response(
        event=event, record_handler=_deliver, processor=processor, context=context
    )
    return dict(response)
