"""Scoring the classifier: hand-computed precision/recall/F1, the report's last line, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from careline.evaluation import EvaluationFileError
from careline.nlu.evaluate import (
    LabelledMessage,
    evaluate,
    format_report,
    read_labelled_messages,
    score,
)
from careline_local.cli import main

# Six messages, three gold labels; "billing_question" is predicted but never labelled.
#   gold:      book book book  cancel cancel  greeting
#   predicted: book book cancel cancel billing greeting
GOLD = [
    "appointment_book",
    "appointment_book",
    "appointment_book",
    "appointment_cancel",
    "appointment_cancel",
    "greeting",
]
PREDICTED = [
    "appointment_book",
    "appointment_book",
    "appointment_cancel",
    "appointment_cancel",
    "billing_question",
    "greeting",
]


def test_per_intent_figures_match_a_hand_count() -> None:
    report = score(GOLD, PREDICTED)
    rows = {row.intent: row for row in report.intents}
    # book: 2 of 2 predictions right, 2 of 3 found -> F1 = 2*1*(2/3)/(1+2/3) = 0.8
    assert rows["appointment_book"].precision == pytest.approx(1.0)
    assert rows["appointment_book"].recall == pytest.approx(2 / 3)
    assert rows["appointment_book"].f1 == pytest.approx(0.8)
    assert rows["appointment_book"].support == 3
    # cancel: 1 of 2 predictions right, 1 of 2 found -> F1 = 0.5
    assert (rows["appointment_cancel"].precision, rows["appointment_cancel"].recall) == (0.5, 0.5)
    assert rows["appointment_cancel"].f1 == pytest.approx(0.5)
    assert rows["greeting"].f1 == pytest.approx(1.0)


def test_a_label_only_predicted_gets_a_row_but_no_say_in_macro_f1() -> None:
    report = score(GOLD, PREDICTED)
    billing = next(row for row in report.intents if row.intent == "billing_question")
    assert (billing.precision, billing.recall, billing.f1, billing.support) == (0.0, 0.0, 0.0, 0)
    # macro over the gold labels only: (0.8 + 0.5 + 1.0) / 3
    assert report.macro_f1 == pytest.approx(2.3 / 3)
    assert report.accuracy == pytest.approx(4 / 6)
    assert report.n == 6


def test_rows_follow_the_label_set_order_and_skip_labels_nobody_used() -> None:
    report = score(GOLD, PREDICTED)
    assert [row.intent for row in report.intents] == [
        "appointment_book",
        "appointment_cancel",
        "billing_question",
        "greeting",
    ]


def test_the_report_ends_with_the_summary_line() -> None:
    lines = format_report(score(GOLD, PREDICTED)).splitlines()
    assert lines[-1] == "macro_f1=0.7667 accuracy=0.6667 n=6"
    assert lines[0].split() == ["intent", "precision", "recall", "f1", "support"]
    assert lines[1].split() == ["appointment_book", "1.0000", "0.6667", "0.8000", "3"]
    assert len(lines) == 1 + 4 + 1


def test_evaluate_runs_the_classifier_on_each_message() -> None:
    messages = [LabelledMessage("book me", "appointment_book"), LabelledMessage("hey", "greeting")]
    report = evaluate(messages, lambda text: "greeting")
    assert (report.accuracy, report.n) == (0.5, 2)


def test_reading_ignores_other_keys_and_blank_lines() -> None:
    lines = [
        json.dumps({"text": "cancel my appt", "intent": "appointment_cancel", "channel": "sms"}),
        "",
        json.dumps({"intent": "greeting", "text": "hi"}),
    ]
    assert read_labelled_messages(lines) == [
        LabelledMessage("cancel my appt", "appointment_cancel"),
        LabelledMessage("hi", "greeting"),
    ]


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        ('{"text": "hi", "intent": "greeting"', "not valid JSON"),
        ('["hi", "greeting"]', "JSON object"),
        ('{"intent": "greeting"}', "'text'"),
        ('{"text": "hi"}', "'intent'"),
        ('{"text": "hi", "intent": "say_hello"}', "unknown intent label 'say_hello'"),
    ],
)
def test_a_bad_line_is_named_by_its_number(bad_line: str, reason: str) -> None:
    lines = [json.dumps({"text": "hi", "intent": "greeting"}), "", bad_line]
    with pytest.raises(EvaluationFileError, match=reason) as caught:
        read_labelled_messages(lines)
    assert caught.value.line_number == 3
    assert str(caught.value).startswith("line 3: ")


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(EvaluationFileError, match="no labelled messages"):
        read_labelled_messages(["", "  "])


def test_scoring_lists_of_different_lengths_is_refused() -> None:
    with pytest.raises(ValueError, match="2 gold labels but 1 predictions"):
        score(["greeting", "goodbye"], ["greeting"])


def test_the_cli_prints_the_table_and_the_summary_last(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "set.jsonl"
    file.write_text(
        "\n".join(
            json.dumps(row)
            for row in (
                {"text": "hello", "intent": "greeting"},
                {"text": "what are your hours", "intent": "practice_info"},
            )
        ),
        encoding="utf-8",
    )
    assert main(["nlu", "evaluate", str(file)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "macro_f1=1.0000 accuracy=1.0000 n=2"
    assert [line.split()[0] for line in out[1:-1]] == ["practice_info", "greeting"]


def test_the_cli_names_the_file_and_line_of_an_unknown_label(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "set.jsonl"
    file.write_text(
        '{"text": "hi", "intent": "greeting"}\n{"text": "yo", "intent": "hello"}\n', encoding="utf-8"
    )
    assert main(["nlu", "evaluate", str(file)]) == 2
    err = capsys.readouterr().err
    assert f"{file}: line 2: unknown intent label 'hello'" in err
