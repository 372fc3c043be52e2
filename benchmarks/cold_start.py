"""What a Lambda cold start pays before the first turn, each in a fresh interpreter as Lambda's
init phase would (median of several runs): importing the handler module, importing the local
classifier and building it from the bot model file (done on the first turn), and building the
safety screen (its rules and the second reading's weights) and screening one message."""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5
PROBES = {
    "handler_import_ms": (
        "import sys, time; sys.path.insert(0, {handler_dir!r}); t = time.perf_counter(); "
        "import handler; print((time.perf_counter() - t) * 1000)"
    ),
    "classifier_import_and_build_ms": (
        "import time; t = time.perf_counter(); from careline.nlu import classify; "
        "classify('are you open today'); print((time.perf_counter() - t) * 1000)"
    ),
    "safety_screen_build_ms": (
        "import time; t = time.perf_counter(); from careline.safety import SafetyScreen; "
        "SafetyScreen().screen('are you open today'); print((time.perf_counter() - t) * 1000)"
    ),
}


def main() -> None:
    env = {"PATH": "/usr/bin:/bin", "POWERTOOLS_TRACE_DISABLED": "true", "AWS_DEFAULT_REGION": "us-west-2"}
    for name, probe in PROBES.items():
        code = probe.format(handler_dir=str(ROOT / "functions" / "sms_inbound"))
        timings = []
        for _ in range(RUNS):
            out = subprocess.run(  # noqa: S603 - our own interpreter and a fixed probe
                [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
            )
            timings.append(float(out.stdout.strip().splitlines()[-1]))
        print(f"{name} median={statistics.median(timings):.0f} min={min(timings):.0f} runs={RUNS}")
