"""Scheduled jobs the local runtime runs on demand, by name, against its local clock.

In AWS these run on EventBridge Scheduler or DynamoDB itself; locally `POST /api/jobs/<name>` and a
scenario's `run_job` call them.

`escalation_sla` stands in for Step Functions' own timeouts, which moto counts in real time: every
escalation wait whose deadline has passed on the local clock is failed with `Careline.SlaExpired`,
which the state machine catches exactly as it catches `States.Timeout`.

Reminders (issue 6): `risk_scoring` runs `functions/risk_scoring` as the nightly schedule would
(every booked visit of the horizon scored, tiered and watched; EHR cancellations seen), `reminders`
runs one campaign (the state machine in moto, then the send queue drained into
`functions/reminder_send`; see `careline_local.campaign`), and `waitlist` runs
`functions/waitlist_offers` (freed slots offered, expired holds moved on). Each reads the local
clock, so `advance` then `run_job` walks a campaign through its days.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from careline_local.aws import LocalResources, scan_items, session
from careline_local.campaign import CampaignRun
from careline_local.clock import LocalClock

# what EventBridge Scheduler hands a Lambda target: the schedule's input (Careline's is empty)
SCHEDULED_EVENT: dict[str, Any] = {}


class JobHost(Protocol):
    """What a job may use of the local stack."""

    @property
    def resources(self) -> LocalResources: ...

    @property
    def clock(self) -> LocalClock: ...

    def expire_escalation_slas(self) -> dict[str, int]:
        """Fail the escalation waits whose deadline passed on the local clock; counts."""
        ...

    def invoke_function(self, folder: str, event: dict[str, Any]) -> Any:
        """Run `functions/<folder>`'s handler in-process with `event`; its result."""
        ...

    def run_reminder_campaign(self) -> CampaignRun:
        """One run of the reminder campaign: the state machine, then the send queue drained."""
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


def _int_counts(result: Any, names: tuple[str, ...]) -> dict[str, int]:
    """The integer fields `names` of a function's result (0 when absent)."""
    values = result if isinstance(result, dict) else {}
    return {name: int(values.get(name) or 0) for name in names}


@job("risk_scoring")
def risk_scoring(host: JobHost) -> JobReport:
    """Score every booked visit of the horizon from the EHR (the nightly schedule's run)."""
    result = host.invoke_function("risk_scoring", dict(SCHEDULED_EVENT))
    counts = _int_counts(result, ("scored", "failed", "cancelled_seen", "outcomes_seen"))
    by_tier = result.get("by_tier") if isinstance(result, dict) else None
    for tier, count in sorted((by_tier or {}).items()):
        counts[f"tier_{tier}"] = int(count)
    tiers = ", ".join(f"{k.removeprefix('tier_')} {v}" for k, v in counts.items() if k.startswith("tier_"))
    summary = f"{counts['scored']} visit(s) scored ({tiers or 'none'}), {counts['failed']} failed"
    if counts["cancelled_seen"]:
        summary += f", {counts['cancelled_seen']} cancellation(s) seen"
    rates = [
        f"{t['tier']} {t['no_show_rate']:.0%} of {t['attended'] + t['no_show']}"
        for t in (result.get("outcomes_by_tier") or [] if isinstance(result, dict) else [])
        if t.get("no_show_rate") is not None
    ]
    if rates:
        summary += f"; no-shows over 30 days: {', '.join(rates)}"
    return JobReport("risk_scoring", summary, counts)


@job("reminders")
def reminders(host: JobHost) -> JobReport:
    """One run of the reminder campaign (what Scheduler starts every few minutes)."""
    run = host.run_reminder_campaign()
    return JobReport("reminders", run.summary(), run.counts())


@job("waitlist")
def waitlist(host: JobHost) -> JobReport:
    """Offer freed slots to the waitlist, one candidate at a time (the backfill's schedule)."""
    result = host.invoke_function("waitlist_offers", dict(SCHEDULED_EVENT))
    counts = _int_counts(result, ("offered", "filled", "expired", "waiting"))
    summary = (
        f"{counts['offered']} offer(s) sent, {counts['filled']} slot(s) filled, "
        f"{counts['expired']} expired, {counts['waiting']} waiting on a reply"
    )
    return JobReport("waitlist", summary, counts)
