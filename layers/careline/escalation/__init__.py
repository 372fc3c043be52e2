"""The escalation workflow: what happens to a hand-off once the engine has decided it.

`statemachines/escalation.asl.json` orchestrates it (built by `infra/escalation.py`): build the
hand-off, page on-call for emergencies and crises, create the agents' work item, wait for an agent
to accept within the urgency's SLA, and on a missed SLA tell the supervisor and, honestly, the
patient. `careline.escalation.workflow` holds each step's logic; the record and its status live
in `model`, the rules in `policy`, the ports in `ports`. Domain core: no AWS here, except the two
adapters `stepfunctions` and `connect_tasks` (and `careline.store.escalations`, the store).
"""

from careline.escalation.errors import AlreadyTaken, EscalationNotFound
from careline.escalation.model import (
    AWAITING_AGENT,
    EscalationRecord,
    EscalationStatus,
    time_to_accept,
)
from careline.escalation.ports import AgentTask, AgentWorkItems, EscalationStore, WorkflowControl
from careline.escalation.workflow import (
    SLA_EXPIRED_ERROR,
    START_EVENT_PATTERN,
    WorkflowInput,
    task_success_output,
)

__all__ = [
    "AWAITING_AGENT",
    "SLA_EXPIRED_ERROR",
    "START_EVENT_PATTERN",
    "AgentTask",
    "AgentWorkItems",
    "AlreadyTaken",
    "EscalationNotFound",
    "EscalationRecord",
    "EscalationStatus",
    "EscalationStore",
    "WorkflowControl",
    "WorkflowInput",
    "task_success_output",
    "time_to_accept",
]
