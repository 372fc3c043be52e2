"""`ConnectAgentTasks`: the `AgentWorkItems` port over Amazon Connect StartTaskContact (an adapter).

The task runs the stack's task flow (`infra/escalation.py`), which reads the `careline_queue`
attribute and transfers the task to that engine queue's Connect queue. The task carries ids and a
link to the agent panel, never PHI: agents read the summary in the panel, where reads are audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from botocore.config import Config

from careline.escalation.ports import AgentTask

# Throttles and transient errors are retried in-line, briefly; the state machine retries the rest.
CONNECT_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=3, read_timeout=5
)
PANEL_REFERENCE = "Agent panel"
# StartTaskContact limits
_NAME_MAX = 512
_DESCRIPTION_MAX = 4096


class ConnectClient(Protocol):
    """The one call of boto3's `connect` client this adapter makes (no stubs package needed)."""

    def start_task_contact(self, **kwargs: Any) -> Mapping[str, Any]: ...


class ConnectAgentTasks:
    """Creates one Connect task per escalation in the practice's instance, through the task flow."""

    def __init__(self, client: ConnectClient, instance_id: str, task_flow_id: str) -> None:
        self._client = client
        self._instance_id = instance_id
        self._task_flow_id = task_flow_id

    def create_task(self, task: AgentTask) -> str:
        """StartTaskContact with the task flow; `client_token` makes a retry create no second task."""
        references: dict[str, dict[str, str]] = {}
        if task.link:
            references[PANEL_REFERENCE] = {"Value": task.link, "Type": "URL"}
        response = self._client.start_task_contact(
            InstanceId=self._instance_id,
            ContactFlowId=self._task_flow_id,
            Name=task.name[:_NAME_MAX],
            Description=task.description[:_DESCRIPTION_MAX],
            Attributes=dict(task.attributes),
            References=references,
            ClientToken=task.client_token,
        )
        return str(response["ContactId"])
