"""The agent panel: staff see the escalations of their queues, read a patient's context (audited),
accept, reply by text and hand the conversation back to Careline. Domain only; the Step Functions
adapter (`careline.agents.stepfunctions`) is imported on its own."""

from careline.agents.access import QUEUES_BY_GROUP, StaffGroup, StaffUser, parse_groups
from careline.agents.audit import AccessPurpose, AuditAction, AuditEntry, AuditOutcome
from careline.agents.errors import (
    AgentPanelError,
    ConflictingState,
    EscalationNotFound,
    InvalidRequest,
    NotPermitted,
)
from careline.agents.panel import (
    Accepted,
    AgentPanel,
    EscalationDetail,
    HandedBack,
    QueueItem,
    Replied,
    TranscriptLine,
    Verification,
    parse_purpose,
    verification_of,
)
from careline.agents.ports import AuditLog, EscalationWorkflow

__all__ = [
    "QUEUES_BY_GROUP",
    "Accepted",
    "AccessPurpose",
    "AgentPanel",
    "AgentPanelError",
    "AuditAction",
    "AuditEntry",
    "AuditLog",
    "AuditOutcome",
    "ConflictingState",
    "EscalationDetail",
    "EscalationNotFound",
    "EscalationWorkflow",
    "HandedBack",
    "InvalidRequest",
    "NotPermitted",
    "QueueItem",
    "Replied",
    "StaffGroup",
    "StaffUser",
    "TranscriptLine",
    "Verification",
    "parse_groups",
    "parse_purpose",
    "verification_of",
]
