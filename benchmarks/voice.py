"""A phone call's turns through the real voice_turn handler, on moto in-process.

Connect gives a turn about 8 seconds. Figures: Careline's own time per routine spoken turn (the
handler's wall time less the time inside AWS calls, as in the SMS benchmark: moto's emulation is
slow), AWS calls per turn, and the worst case the design bounds: a turn whose EHR accepts the
connection and never answers, against the 5 s EHR budget a 7 s function gives it (the wall time
here includes moto).
"""

from __future__ import annotations

import os
import socket
import statistics
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.turn import CallCounter, TickingClock, per_turn

ROOT = Path(__file__).resolve().parent.parent
SPOKEN = ["what are your hours today", "where do I park", "what's your fax number", "are you open saturday"]
TURNS = 120
# what the stack gives voice_turn (infra/voice.py): Connect's 8 s less a margin
FUNCTION_TIMEOUT_MS = 7_000


def _call(handler: Callable[[dict[str, Any], Any], Any], context: Any, caller: str, dialed: str) -> Any:
    from careline_local.voice_events import lex_event

    contact = str(uuid.uuid4())

    def say(text: str) -> dict[str, Any]:
        event = lex_event(contact_id=contact, caller=caller, dialed=dialed, text=text)
        response: dict[str, Any] = handler(event, context)
        return response

    return say


def main() -> None:
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    from careline import composition
    from careline.config import load_practice_config
    from careline.messaging import OutboxMessenger
    from careline_local.aws import in_process_aws
    from careline_local.stack import voice_turn_handler

    config_path = ROOT / "config" / "practice.yaml"
    config = load_practice_config(config_path)
    clock = TickingClock()
    dialed = config.practice.phone
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    with in_process_aws(
        config.deployment.region, config_path=str(config_path), origination_identity=config.practice.phone
    ):
        os.environ["CARELINE_FHIR_BASE_URL"] = f"http://127.0.0.1:{silent.getsockname()[1]}/fhir/R4"
        composition.install_overrides(composition.Overrides(clock=clock, messenger=OutboxMessenger(clock)))
        handler = voice_turn_handler()
        context = composition.LocalLambdaContext(timeout_millis=FUNCTION_TIMEOUT_MS)
        try:
            _call(handler, context, "+15035550199", dialed)("hello")  # the container's first turn
            own: list[float] = []
            with CallCounter() as warm:
                for i in range(TURNS):
                    say = _call(handler, context, f"+1503555{1000 + i % 7:04d}", dialed)
                    in_aws_before = warm.seconds
                    started = time.perf_counter()
                    say(SPOKEN[i % len(SPOKEN)])
                    own.append(time.perf_counter() - started - (warm.seconds - in_aws_before))
            say = _call(handler, context, "+15035550142", dialed)
            started = time.perf_counter()
            response = say("I need to book an appointment")
            silent_ehr_s = time.perf_counter() - started
        finally:
            composition.reset_runtime()
            os.environ.pop("CARELINE_FHIR_BASE_URL", None)
            silent.close()

    mine = statistics.quantiles(own, n=100)
    print(f"warm spoken turn, AWS calls per turn: {per_turn(warm.calls, TURNS)}")
    print(
        f"voice_turns={TURNS} careline_own_p50_ms={mine[49] * 1000:.1f} "
        f"careline_own_p95_ms={mine[94] * 1000:.1f}"
    )
    queue = response["sessionState"]["sessionAttributes"].get("careline_transfer_queue")
    print(
        f"silent_ehr_turn_s={silent_ehr_s:.2f} (EHR budget 5 s, Connect limit 8 s; moto included) "
        f"dialog_action={response['sessionState']['dialogAction']['type']} transfer_queue={queue}"
    )
