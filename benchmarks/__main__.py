"""Run every benchmark and print its figures.

python -m benchmarks            # all
python -m benchmarks turn nlu   # some
"""

from __future__ import annotations

import sys

from benchmarks import cold_start, nlu, reminders, turn, voice

SUITES = {
    "turn": turn.main,
    "voice": voice.main,
    "nlu": nlu.main,
    "cold_start": cold_start.main,
    "reminders": reminders.main,
}


def main(argv: list[str]) -> int:
    names = argv or list(SUITES)
    unknown = [n for n in names if n not in SUITES]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; known: {sorted(SUITES)}", file=sys.stderr)
        return 2
    for name in names:
        print(f"== {name}")
        SUITES[name]()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
