"""Domain exceptions, in one place, so handlers map them to responses in one place too."""


class CarelineError(Exception):
    """Base of every error Careline raises on purpose."""


class ConfigError(CarelineError):
    """The practice configuration is invalid; the message names the bad key."""


class ConcurrentTurnError(CarelineError):
    """Another turn for the same party was saved first; the caller may retry the turn."""


class MalformedEventError(CarelineError):
    """An inbound event does not have the shape Careline expects. Never retried."""


class SendError(CarelineError):
    """A message to a patient did not go out, or may not have. `code` is the provider's reason (or the
    connection failure's name), never the number, address or text."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class SendUnavailable(SendError):
    """Not sent now (throttled, over a quota, the provider failing or unreachable): safe to retry."""


class SendRejected(SendError):
    """Refused for good (a bad or opted-out number or address, an unverified sender): retrying
    sends nothing."""


class SendUncertain(SendError):
    """The request went out but no answer came back: the message may have been sent. A sender that
    must never send twice keeps it as sent."""
