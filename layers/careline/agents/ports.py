"""Ports of the agent panel: the audit log and the escalation workflow's callback.

Kept here rather than in `careline.ports` because only the agent panel speaks them (as
`careline.identity.ports` does for verification).
"""

from __future__ import annotations

from typing import Protocol

from careline.agents.audit import AuditEntry


class AuditLog(Protocol):
    def record(self, entry: AuditEntry) -> None:
        """Keep `entry` durably; raise if it could not be kept (the read must then not happen)."""
        ...


class EscalationWorkflow(Protocol):
    def accepted(self, task_token: str, output: str) -> bool:
        """End the escalation workflow's wait on `task_token`: a person took it (`output`: JSON,
        ids and status only, `careline.escalation.task_success_output`). True: it was waiting
        and resumes; False: nothing waits on that token any more (the wait timed out, or the
        execution ended): not an error for the caller."""
        ...
