"""The workflow's rules, from the practice config: how long an agent has, who is paged, what a
work item says, and what the patient is told when nobody got to them in time.

Pure functions of the config, a record and an instant: the Lambda tasks and the local runtime's
SLA job ask the same questions here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from careline.config import PracticeConfig, format_phone
from careline.conversation.model import Channel, Queue, Urgency
from careline.escalation.model import EscalationRecord
from careline.practice.hours import PracticeCalendar, describe_opening, queue_schedule

# Paged to the on-call number at once, before any work item exists.
PAGED_URGENCIES: Final = frozenset({Urgency.EMERGENCY, Urgency.CRISIS})
# A queue about to close will not get to a message "today": below this much staffed time left,
# the patient hears when it opens next instead.
LAST_CALL: Final = timedelta(minutes=30)


def sla_minutes(config: PracticeConfig, urgency: Urgency, queue: Queue) -> int:
    """How many minutes an agent has to accept an escalation of `urgency` in `queue`: the urgency's
    `escalation.sla_minutes`, or sooner if the queue promises patients a reply sooner
    (`queues.<queue>.reply_within_minutes`): the patient must hear from us before a promise lapses."""
    return min(config.escalation.sla_minutes[urgency], config.queue(queue).reply_within_minutes)


def sla_for(config: PracticeConfig, urgency: Urgency, queue: Queue) -> timedelta:
    """`sla_minutes` as a duration."""
    return timedelta(minutes=sla_minutes(config, urgency, queue))


def follow_up_window(config: PracticeConfig) -> timedelta:
    """After the SLA, how long the workflow keeps waiting for someone before it alarms."""
    return timedelta(hours=config.escalation.follow_up_hours)


def sla_deadline(config: PracticeConfig, record: EscalationRecord) -> datetime:
    """When the SLA of `record` passes."""
    return record.created_at + sla_for(config, record.urgency, record.queue)


def follow_up_deadline(config: PracticeConfig, record: EscalationRecord) -> datetime | None:
    """When the wait after a missed SLA ends (None until the escalation timed out)."""
    if record.timed_out_at is None:
        return None
    return record.timed_out_at + follow_up_window(config)


def pages_on_call(urgency: Urgency) -> bool:
    """Emergencies and crises page the on-call number at once."""
    return urgency in PAGED_URGENCIES


def needs_agent_task(channel: Channel) -> bool:
    """A call is already in the queue (the contact flow transferred it); anything else needs a task."""
    return channel is not Channel.VOICE


def panel_link(panel_url: str | None, party_id: str, escalation_id: str) -> str | None:
    """The agent panel's page for one escalation: `<panel url>/escalations/<party id>/<id>`."""
    if not panel_url:
        return None
    return f"{panel_url.rstrip('/')}/escalations/{party_id}/{escalation_id}"


def task_name(config: PracticeConfig, record: EscalationRecord) -> str:
    """What the agent sees in the task list: urgency, queue and reason, no PHI."""
    label = config.queue(record.queue).label
    reason = record.reason.value.replace("_", " ")
    return f"Careline {record.urgency.value}: {label} ({reason})"


TASK_DESCRIPTION: Final = (
    "A patient is waiting for a person. Open the agent panel link for the summary and the whole "
    "conversation, and accept the escalation there."
)


@dataclass(frozen=True)
class PatientNotice:
    """What the patient is told when the SLA passes: the catalog key and the rendered text."""

    key: str
    text: str


def delay_notice(config: PracticeConfig, record: EscalationRecord, now: datetime) -> PatientNotice | None:
    """The honest text for a patient nobody got to within the SLA, or None when there is nothing to
    text: a call escalation (the caller is in Connect's queue, and the number may be a landline).

    Emergency and crisis: stay with the 911 / 988 guidance. Otherwise, while the queue is staffed
    for a while yet: someone will contact them as soon as possible today (the promised minutes no
    longer hold). Else: when the queue opens next, and the on-call line for urgent needs.
    """
    if record.channel is Channel.VOICE:
        return None
    catalog = config.catalog
    if record.urgency in PAGED_URGENCIES:
        return PatientNotice(
            "escalation_delayed_crisis", catalog.render("escalation_delayed_crisis", record.channel)
        )
    label = config.queue(record.queue).label
    schedule = queue_schedule(config, record.queue)
    if schedule.is_open(now) and _staffed_for_a_while(schedule, now):
        key = "escalation_delayed_in_hours"
        return PatientNotice(key, catalog.render(key, record.channel, queue_label=label))
    opening = schedule.next_opening(now)
    when = describe_opening(opening, now, config.tz) if opening is not None else "as soon as we reopen"
    key = "escalation_delayed_after_hours"
    text = catalog.render(
        key,
        record.channel,
        queue_label=label,
        next_open=when,
        on_call_line=format_phone(config.escalation.on_call_line or config.practice.phone),
    )
    return PatientNotice(key, text)


def _staffed_for_a_while(schedule: object, now: datetime) -> bool:
    if not isinstance(schedule, PracticeCalendar):
        return True  # staffed around the clock
    closes = schedule.closes_at(now)
    return closes is not None and closes - now >= LAST_CALL
