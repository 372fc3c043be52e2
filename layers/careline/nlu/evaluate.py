"""Measuring the classifier: per-intent precision, recall and F1, macro-F1 and accuracy.

Pure: the caller reads the file and supplies the classifier, so the figures can be checked by hand
in unit tests and the same code scores the held-out set in CI and any file on a developer's desk.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from careline.evaluation import ratio, read_labelled_lines
from careline.nlu.classifier import INTENTS


@dataclass(frozen=True)
class LabelledMessage:
    """A patient message and the intent a person labelled it with."""

    text: str
    intent: str


@dataclass(frozen=True)
class IntentScore:
    """How one intent fared. `support` counts the messages labelled with it."""

    intent: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class EvaluationReport:
    """Per-intent scores (label-set order), macro-F1 over the gold labels, accuracy, message count."""

    intents: tuple[IntentScore, ...]
    macro_f1: float
    accuracy: float
    n: int


def read_labelled_messages(lines: Iterable[str], labels: Sequence[str] = INTENTS) -> list[LabelledMessage]:
    """Parse JSON lines `{"text": ..., "intent": ...}`; other keys are ignored, blank lines skipped.

    Raises `EvaluationFileError` naming the first line that is not a JSON object with a string
    `text` and an `intent` from `labels`, or when there is no message at all.
    """
    found = read_labelled_lines(
        lines, "intent", set(labels), lambda intent: f"unknown intent label {intent!r}"
    )
    return [LabelledMessage(line.text, line.label) for line in found]


def score(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str] = INTENTS) -> EvaluationReport:
    """Compare gold labels with predictions, position by position.

    Every label in `labels` that appears in either list gets a row; macro-F1 averages only the
    labels present in `gold`, so an intent the file does not test cannot lift or sink the figure,
    while a wrong prediction of it still costs the true intent its recall.
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    if not gold:
        raise ValueError("nothing to score")
    true_positive: Counter[str] = Counter(g for g, p in zip(gold, predicted, strict=True) if g == p)
    gold_count = Counter(gold)
    predicted_count = Counter(predicted)
    rows: list[IntentScore] = []
    for label in labels:
        if label not in gold_count and label not in predicted_count:
            continue
        precision = ratio(true_positive[label], predicted_count[label])
        recall = ratio(true_positive[label], gold_count[label])
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append(IntentScore(label, precision, recall, f1, gold_count[label]))
    present = [row.f1 for row in rows if row.support]
    return EvaluationReport(
        intents=tuple(rows),
        macro_f1=sum(present) / len(present),
        accuracy=sum(true_positive.values()) / len(gold),
        n=len(gold),
    )


def evaluate(messages: Sequence[LabelledMessage], classify: Callable[[str], str]) -> EvaluationReport:
    """Score `classify` (text -> intent label) on labelled messages."""
    predicted = [classify(m.text) for m in messages]
    return score([m.intent for m in messages], predicted)


def format_report(report: EvaluationReport) -> str:
    """A fixed-width table, one row per intent, then `macro_f1=… accuracy=… n=…` as the last line."""
    width = max([len("intent"), *(len(row.intent) for row in report.intents)])
    lines = [f"{'intent':<{width}}  precision  recall      f1  support"]
    lines.extend(
        f"{row.intent:<{width}}  {row.precision:9.4f}  {row.recall:6.4f}  {row.f1:6.4f}  {row.support:7d}"
        for row in report.intents
    )
    lines.append(f"macro_f1={report.macro_f1:.4f} accuracy={report.accuracy:.4f} n={report.n}")
    return "\n".join(lines)
