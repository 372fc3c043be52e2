"""What can go wrong with an escalation, as domain errors. Messages carry ids only.

The workflow's Lambda tasks raise these by class name, which is the error name Step Functions sees
(`EscalationNotFound` is never retried by the state machine).
"""

from __future__ import annotations

from careline.errors import CarelineError


class EscalationNotFound(CarelineError):
    """No escalation with this id for this party."""

    def __init__(self, escalation_id: str) -> None:
        super().__init__(f"no escalation {escalation_id}")
        self.escalation_id = escalation_id


class AlreadyTaken(CarelineError):
    """The escalation is no longer waiting for an agent: someone accepted it first, or it is closed.

    `status` is where it stands now; `accepted_by` who took it, if anyone.
    """

    def __init__(self, escalation_id: str, status: str, accepted_by: str | None = None) -> None:
        super().__init__(f"escalation {escalation_id} is {status}")
        self.escalation_id = escalation_id
        self.status = status
        self.accepted_by = accepted_by
