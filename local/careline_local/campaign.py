"""One run of the reminder campaign against the local stack, as Scheduler and Lambda's SQS poller
would run it in AWS.

`run_campaign` starts an execution of the reminders state machine in moto (always with a name: the
clock's instant and a short random suffix, so the execution list reads as the campaign's history),
waits until it ends, then drains the send queue into `functions/reminder_send` as Lambda's event
source mapping would: batches of up to ten records in the SQS event shape, deleting the ones not
named in `batchItemFailures` (a function that raises fails the whole batch). A failed record is
made visible again at once (no 3-minute visibility wait locally), so it is retried on the next
receive, and after `REMINDER_SEND_MAX_RECEIVES` receives moto moves it to the dead-letter queue, as
the stack's redrive policy does.

A due send waits on the queue for its place in line (`delay_seconds`, real seconds in moto): the
drain keeps receiving until the queue holds nothing visible, delayed or in flight, and gives up
after `DRAIN_TIMEOUT_SECONDS` (what is left then stays on the queue for the next run, and is
counted as `left_on_queue`). It long-polls the queue (a second at a time); nothing here sleeps.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from careline_local.aws import ReminderResources

log = logging.getLogger("careline_local.campaign")

# the campaign's execution: a plan and a handful of queue writes, milliseconds in moto
EXECUTION_TIMEOUT_SECONDS: Final = 30.0
EXECUTION_POLL_SECONDS: Final = 0.01
# the longest a send may wait for its place in line is SQS's 15 minutes; locally a campaign of a
# few patients at one message a second drains in seconds, so this only guards against a stuck queue
DRAIN_TIMEOUT_SECONDS: Final = 120.0
RECEIVE_WAIT_SECONDS: Final = 1
BATCH_SIZE: Final = 10
_QUEUE_COUNTS: Final = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesDelayed",
    "ApproximateNumberOfMessagesNotVisible",
)

SendHandler = Callable[[dict[str, Any]], Any]


class CampaignFailed(RuntimeError):
    """The campaign's execution did not succeed (its error and cause name what went wrong)."""


@dataclass
class CampaignRun:
    """What one campaign run did: the plan's counts, and what became of each queued send."""

    execution: str
    status: str
    plan_counts: dict[str, int] = field(default_factory=dict)
    planned: int = 0
    delivered: int = 0  # records reminder_send handled (sent, or skipped on its re-plan)
    retried: int = 0  # receives of a record reminder_send reported as failed
    dead_lettered: int = 0  # records moved to the send dead-letter queue during this run
    left_on_queue: int = 0  # still waiting when the drain gave up
    # what left (the local stack counts its outboxes and escalations around the run)
    sms: int = 0
    emails: int = 0
    call_tasks: int = 0

    @property
    def sent(self) -> int:
        return self.sms + self.emails + self.call_tasks

    def counts(self) -> dict[str, int]:
        """The run's numbers: sent by channel, what the sender skipped on its re-plan, failures,
        and the plan's own counts (`skipped_<reason>`, `later`, ...)."""
        counts = {
            "planned": self.planned,
            "sent": self.sent,
            "sms": self.sms,
            "email": self.emails,
            "call_task": self.call_tasks,
            "skipped_at_send": max(0, self.delivered - self.sent),
            "retried": self.retried,
            "failed": self.dead_lettered,
        }
        if self.left_on_queue:
            counts["left_on_queue"] = self.left_on_queue
        for name, value in sorted(self.plan_counts.items()):
            if name not in {"due"}:
                counts[name if name.startswith("skipped_") else f"plan_{name}"] = value
        return counts

    def summary(self) -> str:
        skipped = {
            k.removeprefix("skipped_"): v for k, v in self.plan_counts.items() if k.startswith("skipped_")
        }
        held = ", ".join(f"{v} {k}" for k, v in sorted(skipped.items()) if v)
        text = (
            f"{self.sent} sent ({self.sms} sms, {self.emails} email, {self.call_tasks} call task) of "
            f"{self.planned} due"
        )
        if held:
            text += f"; steps held or skipped: {held}"
        if self.dead_lettered:
            text += f"; {self.dead_lettered} failed to the dead-letter queue"
        if self.left_on_queue:
            text += f"; {self.left_on_queue} still queued"
        return text


def execution_name(now: datetime) -> str:
    """`reminders-20260316T1500Z-1a2b3c4d`: unique, sortable, within Step Functions' 80 characters."""
    return f"reminders-{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def run_campaign(
    resources: ReminderResources,
    *,
    stepfunctions: Any,
    sqs: Any,
    region: str,
    now: datetime,
    deliver: SendHandler,
    plan_result: Callable[[str], dict[str, Any] | None],
    drain_timeout: float = DRAIN_TIMEOUT_SECONDS,
) -> CampaignRun:
    """Start the campaign's execution, wait for it, drain the send queue into `deliver`.

    `plan_result(execution_arn)` answers what the execution's Plan task returned (its sends and
    counts), if it can tell; the counts are reported as the run's plan counts.
    """
    name = execution_name(now)
    started = stepfunctions.start_execution(
        stateMachineArn=resources.state_machine_arn, name=name, input=json.dumps({})
    )
    arn = started["executionArn"]
    described = _wait_for_end(stepfunctions, arn)
    run = CampaignRun(execution=name, status=str(described["status"]))
    if run.status != "SUCCEEDED":
        error = described.get("error") or "?"
        cause = str(described.get("cause") or "")[:500]
        raise CampaignFailed(f"reminder campaign {name} ended {run.status}: {error}: {cause}")
    plan = plan_result(arn) or {}
    run.plan_counts = {k: int(v) for k, v in (plan.get("counts") or {}).items() if isinstance(v, int)}
    run.planned = len(plan.get("sends") or ())
    dead_before = _queued(sqs, resources.send_dlq_url)
    _drain(resources, sqs=sqs, region=region, deliver=deliver, run=run, timeout=drain_timeout)
    run.dead_lettered = max(0, _queued(sqs, resources.send_dlq_url) - dead_before)
    return run


def _wait_for_end(stepfunctions: Any, arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + EXECUTION_TIMEOUT_SECONDS
    pause = EXECUTION_POLL_SECONDS
    while True:
        described: dict[str, Any] = stepfunctions.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        if time.monotonic() > deadline:
            stepfunctions.stop_execution(executionArn=arn, cause="local campaign run timed out")
            raise CampaignFailed(f"reminder campaign {arn.rsplit(':', 1)[-1]} still running after 30 s")
        time.sleep(pause)  # waiting on moto's interpreter thread, not pacing sends
        pause = min(pause * 2, 0.1)


def _queued(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(_QUEUE_COUNTS))["Attributes"]
    return sum(int(attributes.get(name, 0)) for name in _QUEUE_COUNTS)


def sqs_event(messages: Iterable[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """Received messages as Lambda's SQS event source hands them to a function."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": dict(message.get("Attributes") or {}),
                "messageAttributes": dict(message.get("MessageAttributes") or {}),
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


def _drain(
    resources: ReminderResources,
    *,
    sqs: Any,
    region: str,
    deliver: SendHandler,
    run: CampaignRun,
    timeout: float,
) -> None:
    url = resources.send_queue_url
    deadline = time.monotonic() + timeout
    while _queued(sqs, url):
        if time.monotonic() > deadline:
            run.left_on_queue = _queued(sqs, url)
            return
        received = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=BATCH_SIZE,
            WaitTimeSeconds=RECEIVE_WAIT_SECONDS,
            AttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = received.get("Messages", [])
        if messages:
            _deliver_batch(messages, resources, sqs=sqs, region=region, deliver=deliver, run=run)


def _deliver_batch(
    messages: list[dict[str, Any]],
    resources: ReminderResources,
    *,
    sqs: Any,
    region: str,
    deliver: SendHandler,
    run: CampaignRun,
) -> None:
    try:
        result = deliver(sqs_event(messages, resources.send_queue_arn, region))
    except Exception as exc:  # noqa: BLE001 - as Lambda: a function that raises fails the whole batch
        # (Powertools' batch processor raises when every record failed); the type only, never its text
        log.warning("reminder_send failed a batch of %d: %s", len(messages), type(exc).__name__)
        result = {"batchItemFailures": [{"itemIdentifier": m["MessageId"]} for m in messages]}
    failures = result.get("batchItemFailures") if isinstance(result, dict) else None
    failed = {str(f.get("itemIdentifier")) for f in failures or () if isinstance(f, dict)}
    for message in messages:
        if message["MessageId"] in failed:
            run.retried += 1
            # visible again now: the next receive retries it (moto dead-letters it after the
            # redrive policy's receives, as SQS would)
            sqs.change_message_visibility(
                QueueUrl=resources.send_queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
            continue
        sqs.delete_message(QueueUrl=resources.send_queue_url, ReceiptHandle=message["ReceiptHandle"])
        run.delivered += 1
