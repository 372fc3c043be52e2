"""How Careline talks to an EHR that may be slow or down: timeouts, bounded retries, a circuit breaker.

Pure: no HTTP library here. The FHIR transport (`careline.ehr.fhir`) raises `TransientFailure` for
what is worth another try (a timeout, a refused connection, 5xx, 429) and this module decides
whether to try again, how long to wait, and when to stop asking the EHR at all for a while. A voice
turn has about 8 seconds end to end, so the defaults keep one EHR call well under 4 seconds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from careline.ehr.errors import EhrUnavailable

T = TypeVar("T")

Seconds = float
MonotonicClock = Callable[[], Seconds]
Sleep = Callable[[Seconds], None]


class TransientFailure(Exception):
    """One attempt failed in a way another attempt might not (timeout, 5xx, 429, connection refused).

    `retry_after` is the server's Retry-After in seconds, when it sent one. `reason` is a short
    code for logs ("timeout", "status_503"), never a URL with query parameters or a body.
    """

    def __init__(self, reason: str, retry_after: Seconds | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True)
class ResiliencePolicy:
    """Timeouts, retries and circuit-breaker settings for one EHR.

    `deadline` bounds one logical call, retries and waits included: no retry starts unless a full
    read timeout still fits before it.
    """

    connect_timeout: Seconds = 1.0
    read_timeout: Seconds = 2.5
    deadline: Seconds = 4.0
    max_attempts: int = 3
    backoff_base: Seconds = 0.1
    backoff_max: Seconds = 0.8
    failure_threshold: int = 5
    cool_down: Seconds = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if min(self.connect_timeout, self.read_timeout, self.deadline) <= 0:
            raise ValueError("timeouts and deadline must be positive")

    def backoff(self, retry_number: int) -> Seconds:
        """Wait before retry `retry_number` (1 for the first retry): doubling, capped."""
        return float(min(self.backoff_max, self.backoff_base * (2 ** (retry_number - 1))))


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Stops calling an EHR that keeps failing, so an outage costs the patient no waiting.

    Closed: calls go through; `failure_threshold` consecutive failed calls open it. Open: calls are
    refused at once until `cool_down` has passed. Half-open: one trial call goes through; success
    closes the circuit, failure opens it for another cool-down. Thread-safe.
    """

    def __init__(self, failure_threshold: int, cool_down: Seconds, clock: MonotonicClock) -> None:
        self._threshold = failure_threshold
        self._cool_down = cool_down
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: Seconds | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> CircuitState:
        with self._lock:
            return self._state_locked()

    def _state_locked(self) -> CircuitState:
        if self._opened_at is None:
            return CircuitState.CLOSED
        if self._clock() - self._opened_at >= self._cool_down:
            return CircuitState.HALF_OPEN
        return CircuitState.OPEN

    def allow(self) -> bool:
        """Whether a call may go to the EHR now. In half-open, only the first caller gets through."""
        with self._lock:
            state = self._state_locked()
            if state is CircuitState.CLOSED:
                return True
            if state is CircuitState.HALF_OPEN and not self._trial_in_flight:
                self._trial_in_flight = True
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_in_flight = False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._trial_in_flight or self._failures >= self._threshold:
                self._opened_at = self._clock()
            self._trial_in_flight = False


class TurnBudget:
    """How long the turn in progress may still spend waiting on the EHR, across all its calls.

    A voice turn must answer within Connect's 8 seconds, and one turn can make several EHR calls
    (find the patient, list visits, search slots, book): each call's own deadline is not enough.
    The handler `start`s the budget when a turn begins and `stop`s it when the turn ends; with no
    budget running, calls are bounded by the policy alone. One budget per container (Lambda runs
    one turn at a time in a container).
    """

    def __init__(self, clock: MonotonicClock) -> None:
        self._clock = clock
        self._until: Seconds | None = None

    def start(self, seconds: Seconds) -> None:
        if seconds <= 0:
            raise ValueError("a turn budget must be positive")
        self._until = self._clock() + seconds

    def stop(self) -> None:
        self._until = None

    def remaining(self) -> Seconds | None:
        """Seconds left (never negative), or None when no budget is running."""
        if self._until is None:
            return None
        return max(0.0, self._until - self._clock())


# A call is not worth starting with less than this left of the turn's budget.
MIN_ATTEMPT_SECONDS: Seconds = 0.2


class Resilience:
    """Runs EHR calls under a `ResiliencePolicy` and one `CircuitBreaker`.

    `run(attempt, idempotent=...)` calls `attempt` until it returns, raises something other than
    `TransientFailure`, or the policy gives up; giving up (or an open circuit) raises
    `EhrUnavailable`. Only idempotent calls are retried: a booking POST that timed out may have
    happened, so it is never sent twice blindly.
    """

    def __init__(
        self,
        policy: ResiliencePolicy,
        *,
        clock: MonotonicClock,
        sleep: Sleep,
        breaker: CircuitBreaker | None = None,
        budget: TurnBudget | None = None,
    ) -> None:
        self.policy = policy
        self._clock = clock
        self._sleep = sleep
        self.breaker = breaker or CircuitBreaker(policy.failure_threshold, policy.cool_down, clock)
        self.budget = budget if budget is not None else TurnBudget(clock)

    def attempt_timeouts(self) -> tuple[Seconds, Seconds]:
        """(connect, read) timeouts for the next attempt: the policy's, cut to the turn's budget."""
        remaining = self.budget.remaining()
        if remaining is None:
            return self.policy.connect_timeout, self.policy.read_timeout
        left = max(remaining, MIN_ATTEMPT_SECONDS)
        return min(self.policy.connect_timeout, left), min(self.policy.read_timeout, left)

    def run(self, attempt: Callable[[], T], *, idempotent: bool) -> T:
        remaining = self.budget.remaining()
        if remaining is not None and remaining < MIN_ATTEMPT_SECONDS:
            # the turn has no time left to wait: not the EHR's fault, so the circuit is untouched
            raise EhrUnavailable("the turn's time for the EHR is spent")
        if not self.breaker.allow():
            raise EhrUnavailable("the EHR circuit is open")
        started = self._clock()
        attempts = self.policy.max_attempts if idempotent else 1
        number = 0
        while True:
            number += 1
            try:
                result = attempt()
            except TransientFailure as failure:
                delay = self._retry_delay(failure, number, attempts, started)
                if delay is None:
                    self.breaker.record_failure()
                    raise EhrUnavailable(f"the EHR did not answer ({failure.reason})") from failure
                self._sleep(delay)
                continue
            except EhrUnavailable:
                self.breaker.record_failure()
                raise
            except Exception:
                # Not an outage (a 404, a conflict, a bug): the EHR answered, so the circuit is fine,
                # but a half-open trial slot must be given back.
                self.breaker.record_success()
                raise
            self.breaker.record_success()
            return result

    def _retry_delay(
        self, failure: TransientFailure, number: int, attempts: int, started: Seconds
    ) -> Seconds | None:
        if number >= attempts:
            return None
        delay = self.policy.backoff(number)
        if failure.retry_after is not None:
            delay = max(delay, failure.retry_after)
        elapsed = self._clock() - started
        if elapsed + delay + self.policy.read_timeout > self.policy.deadline:
            return None
        remaining = self.budget.remaining()
        if remaining is not None and delay + MIN_ATTEMPT_SECONDS > remaining:
            return None
        return delay
