"""The steps of the escalation state machine (`statemachines/escalation.asl.json`), over ports.

Each Lambda task of the state machine is one function here; `functions/escalation_*/handler.py`
only parses its event and calls it. Everything a step returns goes into the execution's history,
which anyone with Step Functions read access can see: ids, vocabulary and counts only, never PHI.
PHI (the summary, the patient's number, the texts) is read from the store inside the step.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from careline.config import PracticeConfig
from careline.conversation.model import Channel
from careline.errors import MalformedEventError
from careline.escalation.errors import AlreadyTaken, EscalationNotFound
from careline.escalation.model import EscalationRecord, EscalationStatus
from careline.escalation.policy import (
    TASK_DESCRIPTION,
    delay_notice,
    follow_up_window,
    needs_agent_task,
    pages_on_call,
    panel_link,
    sla_minutes,
    task_name,
)
from careline.escalation.ports import AgentTask, AgentWorkItems, EscalationStore, WorkflowControl
from careline.observability import logger
from careline.ports import Clock, ContextStore, Messenger

# The event that starts a workflow: what the engine publishes for every escalation it decides.
START_DETAIL_TYPE: Final = "escalation_requested"
START_EVENT_SOURCE: Final = "careline"
START_EVENT_PATTERN: Final[Mapping[str, list[str]]] = {
    "source": [START_EVENT_SOURCE],
    "detail-type": [START_DETAIL_TYPE],
}
# The error a wait is failed with when its SLA passes (the local runtime sends it: moto waits in
# real time); the state machine catches it like its own States.Timeout.
SLA_EXPIRED_ERROR: Final = "Careline.SlaExpired"

# The state machine's definition substitutions: the Lambda task behind each placeholder (the
# function's folder under functions/), and the two topics. infra/escalation.py and the local
# runtime fill in the same names.
TASK_FUNCTIONS: Final[Mapping[str, str]] = {
    "HandOffFunctionArn": "escalation_handoff",
    "AgentTaskFunctionArn": "escalation_task",
    "AwaitAgentFunctionArn": "escalation_await",
    "SlaExpiredFunctionArn": "escalation_sla",
    "TimeToAcceptFunctionArn": "escalation_accepted",
}
ON_CALL_TOPIC: Final = "OnCallTopicArn"
SUPERVISOR_TOPIC: Final = "SupervisorTopicArn"
# The function the start rule invokes (not a task of the state machine).
START_FUNCTION: Final = "escalation_start"

# Escalation ids are uuid5 strings; party ids 64 hex characters. Execution names allow 80.
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$")


@dataclass(frozen=True)
class WorkflowInput:
    """What an execution is started with, and what every step receives: two ids."""

    party_id: str
    escalation_id: str

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> WorkflowInput:
        """Read the ids of a step's payload or an event's detail; `MalformedEventError` names the
        field that is missing or malformed, never its value."""
        values = {}
        for name in ("party_id", "escalation_id"):
            value = data.get(name)
            if not isinstance(value, str) or not _ID.match(value):
                raise MalformedEventError(f"{name} is missing or malformed")
            values[name] = value
        return cls(**values)

    def to_json(self) -> str:
        return json.dumps({"party_id": self.party_id, "escalation_id": self.escalation_id})


def task_success_output(record: EscalationRecord) -> str:
    """The `SendTaskSuccess` output for a wait that ends because of `record` (accepted or closed):
    ids and status only, since it is written to the execution history."""
    return json.dumps({"escalation_id": record.escalation_id, "status": record.status.value})


# --- start --------------------------------------------------------------------------------------


def start_workflow(workflows: WorkflowControl, detail: Mapping[str, Any]) -> dict[str, Any]:
    """Start the execution for the escalation an `escalation_requested` event names; one per
    escalation (the execution is named by its id), so a redelivered event starts nothing."""
    ids = WorkflowInput.parse(detail)
    started = workflows.start(ids.escalation_id, ids.party_id)
    logger.info("escalation workflow start", extra={"escalation_id": ids.escalation_id, "started": started})
    return {"escalation_id": ids.escalation_id, "started": started}


# --- the state machine's steps ------------------------------------------------------------------


def _load(escalations: EscalationStore, ids: WorkflowInput) -> EscalationRecord:
    record = escalations.get(ids.party_id, ids.escalation_id)
    if record is None:
        raise EscalationNotFound(ids.escalation_id)
    return record


def hand_off(
    escalations: EscalationStore, contexts: ContextStore, config: PracticeConfig, ids: WorkflowInput
) -> dict[str, Any]:
    """Build the hand-off: load the escalation and the patient's context, and decide the routing the
    state machine follows (status, urgency, queue, channel, SLA, paging, work item)."""
    record = _load(escalations, ids)
    context = contexts.load(ids.party_id)
    textable = context is not None and not context.opted_out and record.channel is not Channel.VOICE
    minutes = sla_minutes(config, record.urgency, record.queue)
    out = {
        **record.ids(),
        "sla_seconds": minutes * 60,
        "sla_minutes": minutes,
        "follow_up_seconds": int(follow_up_window(config).total_seconds()),
        "follow_up_hours": config.escalation.follow_up_hours,
        "page_on_call": pages_on_call(record.urgency),
        "create_task": needs_agent_task(record.channel),
        "patient_textable": textable,
        "summary_chars": len(record.summary),
    }
    logger.info("escalation hand-off built", extra={k: out[k] for k in ("escalation_id", "urgency", "queue")})
    return out


def create_agent_task(
    escalations: EscalationStore,
    work_items: AgentWorkItems | None,
    config: PracticeConfig,
    panel_url: str | None,
    ids: WorkflowInput,
) -> dict[str, Any]:
    """Put a task for the agents in the escalation's queue, linking to the agent panel; skipped when
    the practice has no Connect instance (no phone line) or the escalation is no longer open."""
    record = _load(escalations, ids)
    if work_items is None:
        return {"created": False, "skipped": "no_connect_instance"}
    if not record.awaiting_agent:
        return {"created": False, "skipped": f"escalation_{record.status.value}"}
    task = AgentTask(
        name=task_name(config, record),
        description=TASK_DESCRIPTION,
        queue=record.queue,
        client_token=record.escalation_id,
        link=panel_link(panel_url, record.party_id, record.escalation_id),
        attributes={
            "careline_escalation_id": record.escalation_id,
            "careline_party_id": record.party_id,
            "careline_queue": record.queue.value,
            "careline_urgency": record.urgency.value,
            "careline_reason": record.reason.value,
        },
    )
    contact_id = work_items.create_task(task)
    logger.info("agent task created", extra={"escalation_id": record.escalation_id, "contact_id": contact_id})
    return {"created": True, "contact_id": contact_id}


def await_agent(
    escalations: EscalationStore, workflows: WorkflowControl, ids: WorkflowInput, task_token: str
) -> dict[str, Any]:
    """Keep the wait's task token on the escalation, for whoever accepts it. If an agent accepted
    (or staff closed it) before the token was kept, nobody holds the token: end the wait now."""
    try:
        escalations.await_agent(ids.party_id, ids.escalation_id, task_token)
    except AlreadyTaken as taken:
        record = _load(escalations, ids)
        workflows.succeed_task(task_token, task_success_output(record))
        logger.info(
            "escalation taken before the wait",
            extra={"escalation_id": ids.escalation_id, "status": taken.status},
        )
        return {"waiting": False, "status": record.status.value}
    return {"waiting": True}


def expire_sla(
    escalations: EscalationStore,
    contexts: ContextStore,
    messenger: Messenger,
    config: PracticeConfig,
    clock: Clock,
    ids: WorkflowInput,
) -> dict[str, Any]:
    """The SLA passed with nobody accepting: mark it timed out and tell the patient honestly when they
    will hear from us (a text escalation only, never to an opted-out number, once)."""
    now = clock.now()
    try:
        record = escalations.time_out(ids.party_id, ids.escalation_id, now)
    except AlreadyTaken as taken:
        # accepted (or closed) as the timer fired: the agent's answer is on its way to the wait
        return {"outcome": taken.status, "patient_told": False}
    out: dict[str, Any] = {"outcome": EscalationStatus.TIMED_OUT.value, "patient_told": False}
    notice = delay_notice(config, record, now)
    if notice is None:
        out["not_told"] = "call"
        return out
    context = contexts.load(ids.party_id)
    if context is None or context.opted_out:
        out["not_told"] = "opted_out" if context is not None else "no_conversation"
        return out
    if record.patient_told_at is not None:
        out["not_told"] = "told_before"  # a retried step: the text went out already
        return out
    # Sent, then noted: a failure in between repeats the text on the retry rather than losing it.
    message_id = messenger.send_sms(context.phone, notice.text)
    data = {"purpose": "escalation_delay", "message_key": notice.key, "escalation_id": record.escalation_id}
    escalations.record_patient_notice(ids.party_id, ids.escalation_id, notice.text, now, data)
    logger.info(
        "escalation delay told", extra={"escalation_id": record.escalation_id, "message_key": notice.key}
    )
    out.update(patient_told=True, message_key=notice.key, message_id=message_id)
    return out


@dataclass(frozen=True)
class Acceptance:
    """An accepted escalation's time to accept, for the metric (dimensions: urgency, queue)."""

    urgency: str
    queue: str
    seconds: float


def acceptance(escalations: EscalationStore, ids: WorkflowInput) -> tuple[dict[str, Any], Acceptance | None]:
    """The wait ended: if an agent accepted, how long it took (None when it was closed instead)."""
    record = _load(escalations, ids)
    out: dict[str, Any] = {"status": record.status.value}
    if record.status is not EscalationStatus.ACCEPTED or record.time_to_accept_seconds is None:
        return out, None
    out["time_to_accept_seconds"] = record.time_to_accept_seconds
    return out, Acceptance(record.urgency.value, record.queue.value, record.time_to_accept_seconds)
