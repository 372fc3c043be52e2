"""Lambda entry point the inbound contact flow invokes once as a call arrives: the greeting.

Returns a flat map of strings (what Connect requires), read by the flow as `$.External.greeting`
(SSML, the Lex block's first prompt) and `$.External.after_hours`. The greeting depends on the
practice's hours only, never on who is calling: nobody is verified yet. A malformed event still
gets the usual greeting (the caller must hear something), and is logged by field, never by value.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from careline.channels.connect import greeting, parse_call_start
from careline.composition import get_greeting_runtime
from careline.errors import MalformedEventError
from careline.observability import logger, metrics, tracer


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    """The call-start event -> {"greeting", "greeting_text", "after_hours"}."""
    runtime = get_greeting_runtime()
    try:
        start = parse_call_start(event)
        logger.info("call started", extra={"contact_id": start.contact_id})
    except MalformedEventError as exc:
        logger.warning("call-start event unreadable", extra={"reason": str(exc)})
        metrics.add_metric(name="CallStartUnreadable", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="CallStarted", unit=MetricUnit.Count, value=1)
    return greeting(runtime.config, runtime.clock.now())
