"""The safety screen against labelled messages: a missed emergency or crisis fails the build.

`heldout.jsonl` is ours (the `batch` key says which): batch "a" was written before the screen was
rewritten; batches "b", "c" and "d" were each written fresh and scored before any rule was changed
for them. First-pass recall / false-alarm rate: b 0.6495 / 0.1791, c 0.7556 / 0.1111,
d 0.7708 / 0.0417 - a fair warning of how new phrasing fares, and why a new miss found in the
field belongs in this file. The shared dev set, when it is beside the repository, is measured
here too but never copied: a test checks that no held-out line is one of its lines.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from careline.safety import SafetyScreen
from careline.safety.evaluate import LabelledMessage, evaluate, format_report, read_labelled_messages
from careline.safety.screen import normalize

HELDOUT = Path(__file__).with_name("heldout.jsonl")
DEV = Path(__file__).resolve().parents[3] / "shared" / "eval" / "safety_dev.jsonl"
MAX_FALSE_ALARM_RATE = 0.03
# The dev set is small and not ours to tune on: a floor against regressions, not the target.
MIN_DEV_RECALL = 0.95

SCREEN = SafetyScreen()


def _category(text: str) -> str:
    return SCREEN.screen(text).category.value


def _read(path: Path) -> list[LabelledMessage]:
    return read_labelled_messages(path.read_text(encoding="utf-8").splitlines())


def test_the_heldout_set_is_large_varied_and_free_of_duplicates() -> None:
    messages = _read(HELDOUT)
    counts = Counter(m.label for m in messages)
    assert len(messages) >= 150
    assert set(counts) == {"emergency", "crisis", "none"}
    assert min(counts.values()) >= 50
    # spelling variants that read the same once normalized ("i wanna die", "i want to die") are
    # kept on purpose: they test the rewrites
    assert len({m.text.lower() for m in messages}) == len(messages)


def test_every_emergency_and_crisis_in_the_heldout_set_is_caught_with_few_false_alarms() -> None:
    report = evaluate(_read(HELDOUT), _category)
    # the whole table in the failure message shows where it went wrong
    assert report.recall == 1.0, format_report(report)
    assert report.false_alarm_rate <= MAX_FALSE_ALARM_RATE, format_report(report)


@pytest.mark.skipif(not DEV.exists(), reason="the shared dev set is not beside this checkout")
def test_the_shared_dev_set_stays_above_its_floor() -> None:
    report = evaluate(_read(DEV), _category)
    assert report.recall >= MIN_DEV_RECALL, format_report(report)
    assert report.false_alarm_rate <= MAX_FALSE_ALARM_RATE, format_report(report)


@pytest.mark.skipif(not DEV.exists(), reason="the shared dev set is not beside this checkout")
def test_no_heldout_line_is_copied_from_the_dev_set() -> None:
    dev = {normalize(m.text) for m in _read(DEV)}
    assert not [m.line for m in _read(HELDOUT) if normalize(m.text) in dev]
