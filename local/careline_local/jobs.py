"""Scheduled jobs the local runtime runs on demand, by name, against its local clock.

In AWS these run on EventBridge Scheduler or DynamoDB itself; locally `POST /api/jobs/<name>` and a
scenario's `run_job` call them. Later issues register reminders and risk scoring here.

`escalation_sla` stands in for Step Functions' own timeouts, which moto counts in real time: every
escalation wait whose deadline has passed on the local clock is failed with `Careline.SlaExpired`,
which the state machine catches exactly as it catches `States.Timeout`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from careline_local.aws import LocalResources, scan_items, session
from careline_local.clock import LocalClock


class JobHost(Protocol):
    """What a job may use of the local stack."""

    @property
    def resources(self) -> LocalResources: ...

    @property
    def clock(self) -> LocalClock: ...

    def expire_escalation_slas(self) -> dict[str, int]:
        """Fail the escalation waits whose deadline passed on the local clock; counts."""
        ...


class UnknownJobError(KeyError):
    def __str__(self) -> str:
        return f"unknown job {self.args[0]!r} (jobs: {', '.join(job_names())})"


@dataclass(frozen=True)
class JobReport:
    name: str
    summary: str
    counts: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"job": self.name, "summary": self.summary, "counts": self.counts}


Job = Callable[[JobHost], JobReport]
_JOBS: dict[str, Job] = {}


def job(name: str) -> Callable[[Job], Job]:
    """Register a scheduled job under `name`."""

    def register(fn: Job) -> Job:
        _JOBS[name] = fn
        return fn

    return register


def job_names() -> list[str]:
    return sorted(_JOBS)


def get_job(name: str) -> Job:
    try:
        return _JOBS[name]
    except KeyError:
        raise UnknownJobError(name) from None


@job("expire_ttl")
def expire_ttl(host: JobHost) -> JobReport:
    """Delete items whose `expires_at` has passed by the local clock: DynamoDB TTL does not run in moto."""
    resources = host.resources
    now = int(host.clock.now().timestamp())
    expired = scan_items(
        resources.region,
        resources.table_name,
        FilterExpression="expires_at <= :now",
        ExpressionAttributeValues={":now": {"N": str(now)}},
        ProjectionExpression="pk, sk",
    )
    client = session(resources.region).client("dynamodb")
    for item in expired:
        client.delete_item(TableName=resources.table_name, Key={"pk": item["pk"], "sk": item["sk"]})
    return JobReport("expire_ttl", f"deleted {len(expired)} expired items", {"deleted": len(expired)})


@job("escalation_sla")
def escalation_sla(host: JobHost) -> JobReport:
    """Fail every escalation wait whose SLA (or follow-up window) has passed by the local clock."""
    counts = host.expire_escalation_slas()
    return JobReport(
        "escalation_sla",
        f"{counts['expired']} escalation wait(s) past their deadline, {counts['waiting']} still within it",
        counts,
    )
