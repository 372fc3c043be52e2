"""Measuring the safety screen: a confusion table, recall, false-alarm rate and category accuracy.

Pure: the caller reads the file and supplies the screen, so the figures can be checked by hand in
unit tests and the same code scores the held-out set in CI and any file on a developer's desk.

- recall: of the messages labelled `emergency` or `crisis`, the share the screen flagged at all
  (either category: a flag in the wrong category still reaches a person at once);
- false-alarm rate: of the messages labelled `none`, the share the screen flagged;
- category accuracy: of the positives it flagged, the share given the labelled category.

A ratio whose denominator is empty is reported as 0: a file with no positives shows recall 0 (it
proved nothing, and the summary must never claim a recall it did not measure), a file with no
`none` messages a false-alarm rate of 0.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from careline.evaluation import ratio, read_labelled_lines

SAFETY_LABELS: Final = ("emergency", "crisis", "none")
_POSITIVE: Final = frozenset({"emergency", "crisis"})


@dataclass(frozen=True)
class LabelledMessage:
    """A message, the safety category a person labelled it with, and its line in the file (1-based)."""

    text: str
    label: str
    line: int = 0


@dataclass(frozen=True)
class SafetyReport:
    """The confusion counts (true label, predicted label) and the three figures over `n` messages."""

    confusion: dict[tuple[str, str], int]
    recall: float
    false_alarm_rate: float
    category_accuracy: float
    n: int

    def count(self, true: str, predicted: str) -> int:
        return self.confusion.get((true, predicted), 0)


@dataclass(frozen=True)
class Mistake:
    """One message the screen got wrong, by line number only (never its text)."""

    line: int
    label: str
    predicted: str


def read_labelled_messages(lines: Iterable[str]) -> list[LabelledMessage]:
    """Parse JSON lines `{"text": ..., "label": "emergency"|"crisis"|"none"}`; other keys are ignored.

    Blank lines are skipped. Raises `EvaluationFileError` naming the first line that is not a JSON
    object with a string `text` and a known `label`, or when there is no message at all.
    """
    found = read_labelled_lines(lines, "label", SAFETY_LABELS, _unknown_label)
    return [LabelledMessage(line.text, line.label, line.line) for line in found]


def _unknown_label(label: str) -> str:
    # the label is ours to quote (it is a category name, or a typo of one), never the text
    shown = label if len(label) <= 20 else f"{label[:20]}…"
    return f"unknown label {shown!r} (expected one of {', '.join(SAFETY_LABELS)})"


def score(gold: Sequence[str], predicted: Sequence[str]) -> SafetyReport:
    """Compare gold labels with the screen's categories, position by position."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    if not gold:
        raise ValueError("nothing to score")
    for label in (*gold, *predicted):
        if label not in SAFETY_LABELS:
            raise ValueError(f"unknown safety category {label!r}")
    pairs = list(zip(gold, predicted, strict=True))
    confusion = Counter(pairs)
    positives = [(g, p) for g, p in pairs if g in _POSITIVE]
    negatives = [p for g, p in pairs if g == "none"]
    caught = [(g, p) for g, p in positives if p in _POSITIVE]
    return SafetyReport(
        confusion=dict(confusion),
        recall=ratio(len(caught), len(positives)),
        false_alarm_rate=ratio(sum(p in _POSITIVE for p in negatives), len(negatives)),
        category_accuracy=ratio(sum(g == p for g, p in caught), len(caught)),
        n=len(pairs),
    )


def evaluate(messages: Sequence[LabelledMessage], screen: Callable[[str], str]) -> SafetyReport:
    """Score `screen` (text -> "emergency", "crisis" or "none") on labelled messages."""
    return score([m.label for m in messages], [screen(m.text) for m in messages])


def mistakes(messages: Sequence[LabelledMessage], screen: Callable[[str], str]) -> list[Mistake]:
    """The messages whose category the screen got wrong, as line numbers and categories."""
    found = ((m, screen(m.text)) for m in messages)
    return [Mistake(m.line, m.label, predicted) for m, predicted in found if predicted != m.label]


def format_report(report: SafetyReport) -> str:
    """A confusion table (rows: true label, columns: predicted), then the summary as the last line.

    The summary is exactly `recall=… false_alarm_rate=… category_accuracy=… n=…`.
    """
    corner = "true \\ predicted"
    width = max(len(corner), *(len(label) for label in SAFETY_LABELS))
    columns = (*SAFETY_LABELS, "total")
    cell = max(len(c) for c in columns)
    lines = [f"{corner:<{width}}  " + "  ".join(f"{c:>{cell}}" for c in columns)]
    for true in SAFETY_LABELS:
        counts = [report.count(true, predicted) for predicted in SAFETY_LABELS]
        lines.append(f"{true:<{width}}  " + "  ".join(f"{c:>{cell}d}" for c in (*counts, sum(counts))))
    lines.append(
        f"recall={report.recall:.4f} false_alarm_rate={report.false_alarm_rate:.4f}"
        f" category_accuracy={report.category_accuracy:.4f} n={report.n}"
    )
    return "\n".join(lines)
