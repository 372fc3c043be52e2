"""Reading the labelled JSON-lines files the evaluations score (`careline nlu evaluate`,
`careline safety evaluate`): one `{"text": ..., "<label key>": ...}` object per line.

Errors name the line, never a message's text: the files may hold real patients' words.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass


class EvaluationFileError(ValueError):
    """A labelled-message file that cannot be scored; names the offending line (1-based) when one is.

    The message never quotes a message's text (the file may hold real patients' words).
    """

    def __init__(self, reason: str, line_number: int | None = None) -> None:
        super().__init__(reason if line_number is None else f"line {line_number}: {reason}")
        self.line_number = line_number


@dataclass(frozen=True)
class LabelledLine:
    """One line of the file: its number (1-based), the message and its label."""

    line: int
    text: str
    label: str


def read_labelled_lines(
    lines: Iterable[str],
    label_key: str,
    known: Container[str],
    unknown_label: Callable[[str], str],
) -> list[LabelledLine]:
    """Parse JSON lines with a string `text` and a `label_key` label in `known`; other keys are
    ignored, blank lines skipped. `unknown_label(label)` words the error for a label not in `known`.
    Raises `EvaluationFileError` naming the first bad line, or when there is no message at all."""
    found: list[LabelledLine] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvaluationFileError(f"not valid JSON ({exc.msg})", number) from None
        if not isinstance(record, dict):
            raise EvaluationFileError(f"expected a JSON object with 'text' and '{label_key}'", number)
        text, label = record.get("text"), record.get(label_key)
        if not isinstance(text, str):
            raise EvaluationFileError("'text' is missing or not a string", number)
        if not isinstance(label, str):
            raise EvaluationFileError(f"'{label_key}' is missing or not a string", number)
        if label not in known:
            raise EvaluationFileError(unknown_label(label), number)
        found.append(LabelledLine(number, text, label))
    if not found:
        raise EvaluationFileError("no labelled messages in the file")
    return found


def ratio(numerator: int, denominator: int) -> float:
    """`numerator / denominator`, 0.0 for an empty denominator."""
    return numerator / denominator if denominator else 0.0
