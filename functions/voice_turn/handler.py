"""Lambda entry point for a phone call's turn: the Lex V2 code hook (dialog and fulfillment).

Amazon Connect hands the caller to the Lex bot; Lex sends each utterance (speech, typed text or
keypad digits) here. Thin on purpose: parse the event, run the turn under idempotency (a retried
request gets the same answer and nothing is done twice), and answer Lex within the call's few
seconds. Nothing reaches the caller as dead air: an unreadable event or a failed turn is parked or
logged and answered with an apology and a transfer to the front desk.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from aws_lambda_powertools.utilities.typing import LambdaContext
from careline.channels import call
from careline.channels.voice import parse_lex_event
from careline.composition import get_runtime
from careline.errors import MalformedEventError
from careline.observability import logger, metrics, tracer

SOURCE = "voice_turn"
# Connect waits about 8 seconds for Lex; the EHR gets at most this much of a turn, less whatever
# the function's own remaining time cannot spare (the rest is the engine, DynamoDB and Lex).
EHR_BUDGET_SECONDS = 5.0
RESERVE_SECONDS = 1.5


def _ehr_budget(context: LambdaContext) -> float:
    remaining = context.get_remaining_time_in_millis() / 1000 - RESERVE_SECONDS
    return max(0.5, min(EHR_BUDGET_SECONDS, remaining))


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """One caller turn -> the Lex V2 response (SSML messages, dialog action, session attributes)."""
    runtime = get_runtime()
    runtime.idempotency_config.register_lambda_context(context)
    try:
        turn = parse_lex_event(event, received_at=runtime.clock.now())
    except MalformedEventError as exc:
        quarantine_id = runtime.quarantine.park(event, str(exc), source=SOURCE)
        logger.warning("voice event quarantined", extra={"reason": str(exc), "quarantine_id": quarantine_id})
        metrics.add_metric(name="VoiceTurnQuarantined", unit=MetricUnit.Count, value=1)
        return call.unreadable(event, runtime.config)

    if not turn.message.text.strip():
        metrics.add_metric(name="VoiceTurnNothingHeard", unit=MetricUnit.Count, value=1)
        return call.nothing_heard(turn, runtime.config)

    runtime.ehr_budget.start(_ehr_budget(context))
    try:
        summary = runtime.handle_inbound(turn.message)
        spoken = runtime.service.spoken_replies(turn.message)
    except IdempotencyAlreadyInProgressError:
        # Lex retried while the first attempt is still running: that attempt answers the caller
        # if it can; this one must not decide the turn a second time.
        logger.warning("voice turn already in progress", extra={"message_id": turn.message.message_id})
        metrics.add_metric(name="VoiceTurnFailed", unit=MetricUnit.Count, value=1)
        return call.trouble(turn, runtime.config)
    except Exception:  # noqa: BLE001 - the caller is live: any failure gets a person, not silence
        logger.exception("voice turn failed", extra={"message_id": turn.message.message_id})
        metrics.add_metric(name="VoiceTurnFailed", unit=MetricUnit.Count, value=1)
        return call.trouble(turn, runtime.config)
    finally:
        runtime.ehr_budget.stop()

    if spoken is None:
        # the saved turn is another message's: never guess what this one said
        logger.error("voice turn has no saved replies", extra={"message_id": turn.message.message_id})
        metrics.add_metric(name="VoiceTurnFailed", unit=MetricUnit.Count, value=1)
        return call.trouble(turn, runtime.config)
    response = call.respond(turn, summary, [r.text for r in spoken], runtime.config, runtime.clock.now())
    logger.info(
        "voice turn handled",
        extra={
            "message_id": turn.message.message_id,
            "intent": summary.get("intent"),
            "dialog_action": response["sessionState"]["dialogAction"]["type"],
            "input_mode": turn.input_mode.value,
        },
    )
    metrics.add_metric(name="VoiceTurnProcessed", unit=MetricUnit.Count, value=1)
    return response
