"""Ports of the escalation workflow: what its steps need from the outside world, as Protocols.

`EscalationStore` is the agent panel's API too: `get`, `open_in_queues`, `accept` and `close` are
the calls it makes (then `SendTaskSuccess` with the returned record's `task_token`, the body from
`careline.escalation.task_success_output`). Nothing here imports AWS; the adapters are
`careline.store.escalations.DynamoEscalationStore`, `careline.escalation.connect_tasks` and
`careline.escalation.stepfunctions`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from careline.conversation.model import Queue
from careline.escalation.model import EscalationRecord


class EscalationStore(Protocol):
    """Escalations as the conversation store saved them, and their status changes.

    Every change is one conditional write, so two agents accepting at once cannot both win, and
    the queue index (`gsi1sk = <status>#<instant>`) moves with the status: the open list of a queue
    is one query. Errors: `EscalationNotFound`, `AlreadyTaken` (careline.escalation.errors).
    """

    def get(self, party_id: str, escalation_id: str) -> EscalationRecord | None:
        """The escalation with its summary decrypted, or None if the party has no such escalation."""
        ...

    def open_in_queues(self, queues: Iterable[Queue]) -> list[EscalationRecord]:
        """The open escalations of `queues`, oldest first (one index query per queue; the index is
        eventually consistent, so one accepted a moment ago may still be listed: `accept` decides)."""
        ...

    def await_agent(self, party_id: str, escalation_id: str, task_token: str) -> EscalationRecord:
        """Keep the workflow's task token on the escalation while it waits for an agent (status
        open or timed_out). Raises `AlreadyTaken` if it was accepted or closed in the meantime."""
        ...

    def accept(self, party_id: str, escalation_id: str, agent: str, at: datetime) -> EscalationRecord:
        """`agent` takes the escalation (open or timed_out -> accepted) at `at`; returns the record
        with `accepted_by`, `accepted_at`, `time_to_accept_seconds` and the `task_token` to send
        `SendTaskSuccess` with (None if the workflow is not waiting). Accepting again as the same
        agent returns the same record; anyone else gets `AlreadyTaken`."""
        ...

    def time_out(self, party_id: str, escalation_id: str, at: datetime) -> EscalationRecord:
        """The SLA passed with nobody accepting (open -> timed_out; the spent task token is
        dropped). Already timed out: the record as it is. Raises `AlreadyTaken` if accepted or
        closed first."""
        ...

    def close(
        self, party_id: str, escalation_id: str, at: datetime, by: str | None = None
    ) -> EscalationRecord:
        """Staff are done with it (any status -> closed); returns the record with the task token of
        a wait still in progress, if any, so the caller can end the workflow. Closing twice returns
        the closed record."""
        ...

    def record_patient_notice(
        self, party_id: str, escalation_id: str, text: str, at: datetime, data: Mapping[str, Any]
    ) -> bool:
        """Note on the escalation and on the patient's timeline (text encrypted) that the workflow
        texted the patient `text`; False if it was noted before (a retried step)."""
        ...


@dataclass(frozen=True)
class AgentTask:
    """A work item for the agents of one queue (an Amazon Connect task): ids and a link, no PHI.

    `client_token` makes creating it idempotent (the escalation id: one task per escalation).
    """

    name: str
    description: str
    queue: Queue
    client_token: str
    link: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)


class AgentWorkItems(Protocol):
    def create_task(self, task: AgentTask) -> str:
        """Create the task in `task.queue`; returns its contact id."""
        ...


class WorkflowControl(Protocol):
    """The escalation state machine: start one execution per escalation, answer its waits."""

    def start(self, escalation_id: str, party_id: str) -> bool:
        """Start the execution named `escalation_id` with the two ids as input. A redelivered start
        starts nothing: Step Functions answers a running execution of the same name and input as if
        just started (True), and refuses the name once it has ended (False)."""
        ...

    def succeed_task(self, task_token: str, output: str) -> None:
        """End the wait holding `task_token` with `output` (JSON, ids only)."""
        ...

    def fail_task(self, task_token: str, error: str, cause: str) -> None:
        """Fail the wait holding `task_token` with `error` (e.g. `Careline.SlaExpired`)."""
        ...
