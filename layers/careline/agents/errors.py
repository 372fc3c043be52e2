"""What the agent panel refuses, and why. Messages name ids and rules, never patient data, so the
API may return them as they are (the handler maps each class to one HTTP status)."""

from __future__ import annotations

from careline.errors import CarelineError


class AgentPanelError(CarelineError):
    """Base of the agent panel's refusals."""


class InvalidRequest(AgentPanelError):
    """The request itself is wrong: a missing or unknown reason for reading, an empty reply."""


class NotPermitted(AgentPanelError):
    """The user may not do this: an escalation outside their queues, a conversation they do not own."""


class EscalationNotFound(AgentPanelError):
    """No such escalation (or no conversation behind it)."""


class ConflictingState(AgentPanelError):
    """The escalation or conversation is not in a state that allows this: taken by someone else,
    not accepted yet, or the patient has opted out of texts."""
