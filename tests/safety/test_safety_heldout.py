"""The safety screen against labelled messages: a missed emergency or crisis fails the build.

Every `*.jsonl` file here is ours (the `batch` key says which) and each is held to the same bar:
recall 1.0 and at most 3% false alarms.

- `heldout.jsonl`: batch "a" was written before the screen was rewritten; batches "b", "c" and
  "d" were each written fresh and scored before any rule was changed for them. First-pass recall
  / false-alarm rate: b 0.6495 / 0.1791, c 0.7556 / 0.1111, d 0.7708 / 0.0417.
- `blind_e.jsonl`, `blind_f.jsonl`: written in other voices (older adults, parents, caregivers,
  teenagers, non-native English, terse SMS, rambling call transcripts; signs without a diagnosis,
  euphemistic crisis talk) and scored with the screen as it stood before the rules were widened by
  category: e 0.5714 / 0.0400 (131 lines), f 0.5714 / 0.0615 (121 lines).
- `blind_g.jsonl`: written after the widening, without looking at any miss, and scored once:
  0.7455 / 0.0500 (115 lines; the old screen scored 0.6000 / 0.0500 on it). That first pass is
  the honest estimate of how unseen phrasing fares. What it missed was then fixed by category,
  so it is no longer blind.
- `tuning_h.jsonl`: written while widening the categories, to probe them (look-alikes of each
  new sign and theme, and new phrasings of them). Never blind; a regression set.
- `blind_i.jsonl`: written after a further round of widening (with `tuning_h`), again without
  looking at any miss, and scored once: 0.6852 / 0.0000 (110 lines; the old screen 0.6111 /
  0.0000). Then fixed by category too, so no longer blind either.

`blind_e` lost one line and `blind_i` two that turned out to be, word for word, already in
`heldout.jsonl` (all three were read correctly); the figures above are for the files as they
are. Taken together, g and i say that a fresh batch in new voices still finds roughly one
positive in four that no rule reads yet: the rules now cover far more ways of saying it, but not
all of them.

So a new miss found in the field belongs in a new batch here, and its fix in a category of
`rules.yaml`, not a copy of its words. The shared dev set, when it is beside the repository, is
measured too but never copied: a test checks that no line here is one of its lines.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from careline.safety import SafetyScreen
from careline.safety.evaluate import LabelledMessage, evaluate, format_report, read_labelled_messages
from careline.safety.screen import normalize

HERE = Path(__file__).parent
HELDOUT = HERE / "heldout.jsonl"
LABELLED = sorted(HERE.glob("*.jsonl"))
DEV = Path(__file__).resolve().parents[3] / "shared" / "eval" / "safety_dev.jsonl"
MAX_FALSE_ALARM_RATE = 0.03
# The dev set is small and not ours to tune on: a floor against regressions, not the target.
MIN_DEV_RECALL = 0.95

SCREEN = SafetyScreen()


def _category(text: str) -> str:
    return SCREEN.screen(text).category.value


def _read(path: Path) -> list[LabelledMessage]:
    return read_labelled_messages(path.read_text(encoding="utf-8").splitlines())


def test_the_labelled_files_are_all_here() -> None:
    names = {path.name for path in LABELLED}
    expected = {"heldout", "blind_e", "blind_f", "blind_g", "tuning_h", "blind_i"}
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
    report = evaluate(_read(path), _category)
    # the whole table in the failure message shows where it went wrong
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
