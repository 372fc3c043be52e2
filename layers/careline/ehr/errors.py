"""What can go wrong talking to the EHR, in terms the conversation can act on."""

from careline.errors import CarelineError


class EhrError(CarelineError):
    """Base of EHR failures."""


class EhrUnavailable(EhrError):
    """The EHR did not answer in time, answered 5xx/429 after bounded retries, or the circuit is
    open. The patient gets a kind message and a person follows up; the request is kept."""


class SlotTaken(EhrError):
    """The slot was booked by someone else between offer and pick (or changed since offered)."""


class NotFound(EhrError):
    """The resource asked for does not exist (or is not this patient's)."""
