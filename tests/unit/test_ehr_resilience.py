"""Timeouts, retries and the circuit breaker of EHR calls, on a fake clock (no sleeping, no network)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from careline.ehr.errors import EhrUnavailable, NotFound
from careline.ehr.resilience import CircuitState, Resilience, ResiliencePolicy, TransientFailure


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _resilience(clock: FakeClock, **policy: float) -> Resilience:
    return Resilience(ResiliencePolicy(**policy), clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]


def _failing(times: int, then: str = "ok", reason: str = "status_503") -> Callable[[], str]:
    calls = {"n": 0}

    def attempt() -> str:
        calls["n"] += 1
        if calls["n"] <= times:
            raise TransientFailure(reason)
        return then

    attempt.calls = calls  # type: ignore[attr-defined]
    return attempt


def test_a_read_is_retried_with_doubling_backoff_and_then_succeeds() -> None:
    clock = FakeClock()
    assert _resilience(clock).run(_failing(2), idempotent=True) == "ok"
    assert clock.sleeps == [0.1, 0.2]


def test_a_read_gives_up_after_max_attempts_as_unavailable() -> None:
    clock = FakeClock()
    attempt = _failing(10)
    with pytest.raises(EhrUnavailable, match="status_503"):
        _resilience(clock, max_attempts=3).run(attempt, idempotent=True)
    assert attempt.calls["n"] == 3  # type: ignore[attr-defined]


def test_a_booking_post_is_never_retried() -> None:
    clock = FakeClock()
    attempt = _failing(1)
    with pytest.raises(EhrUnavailable):
        _resilience(clock).run(attempt, idempotent=False)
    assert attempt.calls["n"] == 1  # type: ignore[attr-defined]
    assert clock.sleeps == []


def test_no_retry_starts_that_would_overrun_the_deadline() -> None:
    clock = FakeClock()

    def slow_timeout() -> str:
        clock.now += 2.5  # a read timeout
        raise TransientFailure("ReadTimeoutError")

    with pytest.raises(EhrUnavailable):
        _resilience(clock, deadline=4.0, read_timeout=2.5).run(slow_timeout, idempotent=True)
    assert clock.now == 2.5  # 2.5 + 0.1 + 2.5 > 4: the second attempt was never made


def test_retry_after_is_honoured_when_it_fits_the_deadline() -> None:
    clock = FakeClock()
    calls: list[int] = []

    def throttled() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise TransientFailure("status_429", retry_after=1.0)
        return "ok"

    assert _resilience(clock).run(throttled, idempotent=True) == "ok"
    assert clock.sleeps == [1.0]


def test_an_answer_that_is_not_an_outage_passes_through_and_keeps_the_circuit_closed() -> None:
    clock = FakeClock()
    resilience = _resilience(clock, failure_threshold=1)

    def missing() -> str:
        raise NotFound("Patient/x")

    with pytest.raises(NotFound):
        resilience.run(missing, idempotent=True)
    assert resilience.breaker.state is CircuitState.CLOSED


def test_the_circuit_opens_after_consecutive_failures_and_then_fails_fast() -> None:
    clock = FakeClock()
    resilience = _resilience(clock, failure_threshold=3, max_attempts=1, cool_down=30.0)
    for _ in range(3):
        with pytest.raises(EhrUnavailable):
            resilience.run(_failing(1), idempotent=True)
    assert resilience.breaker.state is CircuitState.OPEN
    attempt = _failing(0)
    with pytest.raises(EhrUnavailable, match="circuit is open"):
        resilience.run(attempt, idempotent=True)
    assert attempt.calls["n"] == 0  # type: ignore[attr-defined]


def test_a_success_resets_the_count_of_consecutive_failures() -> None:
    clock = FakeClock()
    resilience = _resilience(clock, failure_threshold=2, max_attempts=1)
    with pytest.raises(EhrUnavailable):
        resilience.run(_failing(1), idempotent=True)
    resilience.run(_failing(0), idempotent=True)
    with pytest.raises(EhrUnavailable):
        resilience.run(_failing(1), idempotent=True)
    assert resilience.breaker.state is CircuitState.CLOSED


def test_half_open_lets_one_trial_through_and_closes_on_success() -> None:
    clock = FakeClock()
    resilience = _resilience(clock, failure_threshold=1, max_attempts=1, cool_down=30.0)
    with pytest.raises(EhrUnavailable):
        resilience.run(_failing(1), idempotent=True)
    clock.now += 30.0
    assert resilience.breaker.state is CircuitState.HALF_OPEN
    assert resilience.breaker.allow()
    assert not resilience.breaker.allow()  # a second caller waits for the trial's outcome
    resilience.breaker.record_success()
    assert resilience.breaker.state is CircuitState.CLOSED


def test_a_failed_half_open_trial_opens_the_circuit_for_another_cool_down() -> None:
    clock = FakeClock()
    resilience = _resilience(clock, failure_threshold=1, max_attempts=1, cool_down=30.0)
    with pytest.raises(EhrUnavailable):
        resilience.run(_failing(1), idempotent=True)
    clock.now += 30.0
    with pytest.raises(EhrUnavailable, match="status_503"):
        resilience.run(_failing(1), idempotent=True)
    assert resilience.breaker.state is CircuitState.OPEN
    clock.now += 29.0
    assert resilience.breaker.state is CircuitState.OPEN


def test_the_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        ResiliencePolicy(max_attempts=0)
    with pytest.raises(ValueError, match="positive"):
        ResiliencePolicy(read_timeout=0)


# --- the turn's budget (a call must answer within seconds, whatever the EHR does) -------------------


def test_without_a_running_budget_attempts_get_the_policy_timeouts() -> None:
    clock = FakeClock()
    resilience = _resilience(clock)
    assert resilience.attempt_timeouts() == (1.0, 2.5)


def test_a_running_budget_cuts_each_attempt_timeout_to_what_is_left_of_the_turn() -> None:
    clock = FakeClock()
    resilience = _resilience(clock)
    resilience.budget.start(3.0)
    clock.now += 2.0
    assert resilience.attempt_timeouts() == (1.0, 1.0)
    resilience.budget.stop()
    assert resilience.attempt_timeouts() == (1.0, 2.5)


def test_no_retry_starts_that_the_turn_has_no_time_left_for() -> None:
    clock = FakeClock()
    resilience = _resilience(clock, read_timeout=0.5, deadline=10.0)
    resilience.budget.start(0.25)
    attempt = _failing(5)
    with pytest.raises(EhrUnavailable):
        resilience.run(attempt, idempotent=True)
    assert attempt.calls["n"] == 1  # type: ignore[attr-defined]


def test_a_spent_budget_refuses_at_once_and_does_not_count_against_the_ehr() -> None:
    clock = FakeClock()
    resilience = _resilience(clock, failure_threshold=1)
    resilience.budget.start(1.0)
    clock.now += 1.0
    attempt = _failing(0)
    with pytest.raises(EhrUnavailable, match="time"):
        resilience.run(attempt, idempotent=True)
    assert attempt.calls["n"] == 0  # type: ignore[attr-defined]
    assert resilience.breaker.state is CircuitState.CLOSED


def test_a_budget_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        _resilience(FakeClock()).budget.start(0)
