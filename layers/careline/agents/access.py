"""Who may see which escalations: staff groups and the queues each one answers.

The groups are the Cognito user pool's (`infra/agent_panel.py` creates them); the queues are the
engine's (`careline.conversation.model.Queue`, every one of them configured under `queues:` in the
practice file). A group sees only the escalations of its queues; a supervisor sees them all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from careline.conversation.model import Queue


class StaffGroup(StrEnum):
    FRONT_DESK = "front_desk"
    BILLING = "billing"
    NURSE = "nurse"
    SUPERVISOR = "supervisor"


# Nurses answer the crisis queue too: a patient in crisis needs clinical staff, and the crisis
# queue is staffed around the clock by whoever is on call (a nurse or the provider).
QUEUES_BY_GROUP: Final[Mapping[StaffGroup, frozenset[Queue]]] = {
    StaffGroup.FRONT_DESK: frozenset({Queue.FRONT_DESK}),
    StaffGroup.BILLING: frozenset({Queue.BILLING}),
    StaffGroup.NURSE: frozenset({Queue.NURSE, Queue.CRISIS}),
    StaffGroup.SUPERVISOR: frozenset(Queue),
}


def parse_groups(raw: str | Iterable[str] | None) -> tuple[str, ...]:
    """The group names of a `cognito:groups` claim, in any shape it arrives in: a list (a decoded
    token), a comma-separated string (API Gateway's REST authorizer), or a bracketed,
    space-separated string (`"[nurse supervisor]"`, how API Gateway flattens an array claim)."""
    if raw is None:
        return ()
    if isinstance(raw, str):
        text = raw.strip().removeprefix("[").removesuffix("]")
        parts: Iterable[str] = text.replace(",", " ").split()
    else:
        parts = raw
    return tuple(dict.fromkeys(p.strip() for p in parts if p and p.strip()))


@dataclass(frozen=True)
class StaffUser:
    """A signed-in staff member: the identity provider's user name and the groups it vouches for.

    Group names Careline does not know are kept (they are recorded in the audit log as given) but
    grant nothing.
    """

    user_id: str
    group_names: tuple[str, ...] = ()

    @property
    def groups(self) -> frozenset[StaffGroup]:
        known = {g.value for g in StaffGroup}
        return frozenset(StaffGroup(name) for name in self.group_names if name in known)

    @property
    def queues(self) -> frozenset[Queue]:
        """Every queue one of the user's groups answers."""
        return frozenset(q for group in self.groups for q in QUEUES_BY_GROUP[group])

    @property
    def is_supervisor(self) -> bool:
        return StaffGroup.SUPERVISOR in self.groups

    def may_see(self, queue: Queue | str) -> bool:
        """Whether the user may read an escalation of `queue` (an unknown queue: nobody but a
        supervisor, who answers for every queue)."""
        try:
            return Queue(queue) in self.queues
        except ValueError:
            return self.is_supervisor
