"""One inbound SMS turn through the real sms_inbound handler, on moto in-process.

Figures: AWS calls per turn by operation (the architecture budgets DynamoDB calls and expects KMS
data keys to be cached per container); Careline's own time per turn, that is the handler's wall time
less the time spent inside AWS calls (moto's emulation is slow and grows with the table: its
TransactWriteItems deep-copies every table to roll back, so wall time and memory here say more about
moto than about Careline); and the process's peak memory, moto included.
"""

from __future__ import annotations

import os
import resource
import statistics
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.client import BaseClient

ROOT = Path(__file__).resolve().parent.parent
ROUTINE_TEXTS = ["what are your hours today", "where do i park", "whats your fax number", "thanks bye"]
TURNS = 200


class CallCounter:
    """Counts every botocore API call (boto3 and pynamodb alike go through `_make_api_call`)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.seconds = 0.0
        self._original = BaseClient._make_api_call

    def __enter__(self) -> CallCounter:
        counter = self

        def counting(client: BaseClient, operation: str, params: Any) -> Any:
            counter.calls[f"{client.meta.service_model.service_name}:{operation}"] += 1
            started = time.perf_counter()
            try:
                return counter._original(client, operation, params)
            finally:
                counter.seconds += time.perf_counter() - started

        BaseClient._make_api_call = counting  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        BaseClient._make_api_call = self._original  # type: ignore[method-assign]


class TickingClock:
    """A clock one second further on at every reading, from 10am Pacific on a Wednesday (office hours)."""

    def __init__(self) -> None:
        self.at = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)

    def now(self) -> datetime:
        self.at += timedelta(seconds=1)
        return self.at


def per_turn(calls: Counter[str], turns: int) -> str:
    return ", ".join(f"{op}={n / turns:.2f}" for op, n in sorted(calls.items())) or "none"


def main() -> None:
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # one INFO line per turn would drown the figures
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    from careline import composition
    from careline.config import load_practice_config
    from careline.messaging import OutboxMessenger
    from careline_local.aws import in_process_aws
    from careline_local.sms_events import inbound_sms_event
    from careline_local.stack import sms_handler

    config_path = ROOT / "config" / "practice.yaml"
    config = load_practice_config(config_path)
    clock = TickingClock()
    outbox = OutboxMessenger(clock)

    def event(i: int, sender: str) -> dict[str, Any]:
        text = ROUTINE_TEXTS[i % len(ROUTINE_TEXTS)]
        to = config.practice.phone
        return inbound_sms_event(from_number=sender, to_number=to, text=text, at=clock.now())

    with in_process_aws(
        config.deployment.region, config_path=str(config_path), origination_identity=config.practice.phone
    ):
        composition.install_overrides(composition.Overrides(clock=clock, messenger=outbox))
        handler = sms_handler()
        context = composition.LocalLambdaContext()
        try:
            with CallCounter() as first:
                handler(event(0, "+15035550199"), context)
            durations: list[float] = []
            own: list[float] = []
            with CallCounter() as warm:
                for i in range(TURNS):
                    sender = f"+1503555{1000 + i % 7:04d}"  # a few patients taking turns, as a line would see
                    e = event(i, sender)
                    in_aws_before = warm.seconds
                    started = time.perf_counter()
                    handler(e, context)
                    durations.append(time.perf_counter() - started)
                    own.append(durations[-1] - (warm.seconds - in_aws_before))
        finally:
            composition.reset_runtime()

    print(f"first turn of a container (cold caches): {per_turn(first.calls, 1)}")
    print(f"warm routine turn, AWS calls per turn: {per_turn(warm.calls, TURNS)}")
    dynamo = sum(n for op, n in warm.calls.items() if op.startswith("dynamodb:")) / TURNS
    kms = sum(n for op, n in warm.calls.items() if op.startswith("kms:")) / TURNS
    print(f"dynamodb_calls_per_turn={dynamo:.2f} kms_calls_per_turn={kms:.2f}")
    mine = statistics.quantiles(own, n=100)
    wall = statistics.quantiles(durations, n=100)
    print(
        f"turns={TURNS} replies={len(outbox.list())} careline_own_p50_ms={mine[49] * 1000:.1f} "
        f"careline_own_p95_ms={mine[94] * 1000:.1f} wall_p50_ms={wall[49] * 1000:.1f} "
        f"wall_p95_ms={wall[94] * 1000:.1f} (wall includes moto in-process)"
    )
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak_rss_mib={peak_mib:.0f} (benchmark process, moto included)")
