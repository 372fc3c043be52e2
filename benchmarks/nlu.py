"""The local classifier and safety screen: time per message, as they run on every turn in Lambda."""

from __future__ import annotations

import statistics
import time

MESSAGES = [
    "wat time r u open 2day",
    "where do i park at the st johns office",
    "can i talk to a real person please",
    "i need to move my appt on thursday",
    "is it normal to feel dizzy on my new meds",
    "how much do i owe",
    "thx bye",
    "my chest hurts really bad and my arm is numb",
]
ROUNDS = 300


def main() -> None:
    from careline.nlu import classify
    from careline.safety import SafetyScreen

    classify("warm up")  # builds the model from the bot model file (timed by cold_start)
    screen = SafetyScreen()
    classify_us: list[float] = []
    screen_us: list[float] = []
    for _ in range(ROUNDS):
        for text in MESSAGES:
            t0 = time.perf_counter()
            classify(text)
            t1 = time.perf_counter()
            screen.screen(text)
            t2 = time.perf_counter()
            classify_us.append((t1 - t0) * 1e6)
            screen_us.append((t2 - t1) * 1e6)
    print(
        f"classify_us p50={statistics.median(classify_us):.0f} "
        f"p95={statistics.quantiles(classify_us, n=100)[94]:.0f} n={len(classify_us)}"
    )
    print(
        f"safety_screen_us p50={statistics.median(screen_us):.0f} "
        f"p95={statistics.quantiles(screen_us, n=100)[94]:.0f} n={len(screen_us)}"
    )
