"""The safety screen against Careline's labelled messages (`data/safety/`, described in its README).

Every file there is held to the same bar by the whole screen (rules, then the learned second
reading): recall 1.0 and at most 3% false alarms. The second reading learned from these same
files, so this is a regression bar, not an estimate of unseen wording: the README records each
blind batch's first-pass figures, which are that estimate.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from careline.safety import SafetyScreen
from careline.safety.evaluate import LabelledMessage, evaluate, format_report, read_labelled_messages
from careline.safety.learned import default_model
from careline.safety.screen import normalize
from careline_local.safety_training import stale, train_from

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "data" / "safety"
HELDOUT = CORPUS / "heldout.jsonl"
LABELLED = sorted(CORPUS.glob("*.jsonl"))
DEV = REPO.parent / "shared" / "eval" / "safety_dev.jsonl"
MAX_FALSE_ALARM_RATE = 0.03
# routine traffic of one kind, with the dangerous twins of its phrases beside it
ROUTINE_WITH_TWINS = frozenset({"routine_visit_replies.jsonl"})
# The dev set is small and not ours to tune on: a floor against regressions, not the target.
MIN_DEV_RECALL = 0.95

SCREEN = SafetyScreen()


def _category(text: str) -> str:
    return SCREEN.screen(text).category.value


def _read(path: Path) -> list[LabelledMessage]:
    return read_labelled_messages(path.read_text(encoding="utf-8").splitlines())


def test_the_labelled_files_are_all_here() -> None:
    names = {path.name for path in LABELLED}
    expected = {"heldout", "tuning_h", "routine_turns", "routine_complaints", "routine_visit_replies"}
    expected |= {f"blind_{batch}" for batch in "efgijklmnopq"}
    expected |= {f"train_t{n}" for n in range(1, 12)}
    assert {f"{name}.jsonl" for name in expected} <= names


def test_the_heldout_set_is_large_varied_and_free_of_duplicates() -> None:
    messages = _read(HELDOUT)
    counts = Counter(m.label for m in messages)
    assert len(messages) >= 150
    assert set(counts) == {"emergency", "crisis", "none"}
    assert min(counts.values()) >= 50


@pytest.mark.parametrize("path", LABELLED, ids=lambda path: path.name)
def test_each_batch_is_varied(path: Path) -> None:
    messages = _read(path)
    counts = Counter(m.label for m in messages)
    assert len(messages) >= 100
    if path.name in ROUTINE_WITH_TWINS:
        # mostly everyday replies, with the crisis and emergency twins that share their words
        # ("not going to make it to my appt" / "... through tonight"): both sides of one phrase
        assert counts["none"] >= 0.75 * len(messages)
        assert set(counts) == {"emergency", "crisis", "none"}
        return
    if path.name.startswith("routine_"):
        # everyday turns of a conversation ("alright thanks bye"): what most traffic looks like
        assert set(counts) == {"none"}
        return
    assert set(counts) == {"emergency", "crisis", "none"}
    # about half routine look-alikes, so that the false-alarm rate means something
    assert counts["none"] >= 0.4 * len(messages)


def test_no_message_is_in_two_files_or_twice_in_one() -> None:
    # spelling variants that read the same once normalized ("i wanna die", "i want to die") are
    # kept on purpose: they test the rewrites
    texts = [m.text.lower() for path in LABELLED for m in _read(path)]
    assert [text for text, count in Counter(texts).items() if count > 1] == []


@pytest.mark.parametrize("path", LABELLED, ids=lambda path: path.name)
def test_every_emergency_and_crisis_is_caught_with_few_false_alarms(path: Path) -> None:
    messages = _read(path)
    report = evaluate(messages, _category)
    # the whole table in the failure message shows where it went wrong
    if any(m.label != "none" for m in messages):
        assert report.recall == 1.0, format_report(report)
    assert report.false_alarm_rate <= MAX_FALSE_ALARM_RATE, format_report(report)


@pytest.mark.skipif(not DEV.exists(), reason="the shared dev set is not beside this checkout")
def test_the_shared_dev_set_stays_above_its_floor() -> None:
    report = evaluate(_read(DEV), _category)
    assert report.recall >= MIN_DEV_RECALL, format_report(report)
    assert report.false_alarm_rate <= MAX_FALSE_ALARM_RATE, format_report(report)


@pytest.mark.skipif(not DEV.exists(), reason="the shared dev set is not beside this checkout")
def test_no_labelled_line_is_copied_from_the_dev_set() -> None:
    dev = {normalize(m.text) for m in _read(DEV)}
    copied = [(path.name, m.line) for path in LABELLED for m in _read(path) if normalize(m.text) in dev]
    assert copied == []


def test_the_second_reading_was_trained_on_the_corpus_and_rules_as_they_are() -> None:
    # a changed label file or rule without `careline safety train` would ship a model that reads
    # messages differently from how it was measured
    assert stale(default_model(), CORPUS) == []


def test_retraining_reproduces_the_committed_model() -> None:
    committed = default_model()
    retrained = train_from(CORPUS)
    assert retrained.threshold == pytest.approx(committed.threshold, abs=1e-4)
    assert set(retrained.weights) == set(committed.weights)
    worst = max(
        abs(a - b)
        for name, row in retrained.weights.items()
        for a, b in zip(row, committed.weights[name], strict=True)
    )
    assert worst < 1e-3
