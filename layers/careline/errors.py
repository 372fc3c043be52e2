"""Domain exceptions, in one place, so handlers map them to responses in one place too."""


class CarelineError(Exception):
    """Base of every error Careline raises on purpose."""


class ConfigError(CarelineError):
    """The practice configuration is invalid; the message names the bad key."""


class ConcurrentTurnError(CarelineError):
    """Another turn for the same party was saved first; the caller may retry the turn."""


class MalformedEventError(CarelineError):
    """An inbound event does not have the shape Careline expects. Never retried."""
