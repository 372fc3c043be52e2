"""The classifier against the authored held-out set: a drop below 0.90 macro-F1 fails the build."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from careline.nlu import INTENTS, classify
from careline.nlu.evaluate import evaluate, format_report, read_labelled_messages

HELDOUT = Path(__file__).with_name("heldout.jsonl")
MIN_MACRO_F1 = 0.90


def test_the_heldout_set_covers_every_intent_evenly() -> None:
    messages = read_labelled_messages(HELDOUT.read_text(encoding="utf-8").splitlines())
    counts = Counter(m.intent for m in messages)
    assert len(messages) >= 150
    assert set(counts) == set(INTENTS)
    assert min(counts.values()) >= 10


def test_macro_f1_on_the_heldout_set_stays_at_or_above_the_target() -> None:
    messages = read_labelled_messages(HELDOUT.read_text(encoding="utf-8").splitlines())
    report = evaluate(messages, lambda text: classify(text).intent)
    # the whole table in the failure message shows which intent regressed
    assert report.macro_f1 >= MIN_MACRO_F1, format_report(report)
