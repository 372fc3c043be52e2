"""Scoring the safety screen: hand-counted figures, the report's last line, bad files, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from careline.evaluation import EvaluationFileError
from careline.safety.evaluate import (
    LabelledMessage,
    evaluate,
    format_report,
    mistakes,
    read_labelled_messages,
    score,
)
from careline_local.cli import main

# Ten messages:
#   emergency x4: predicted emergency, emergency, crisis, none
#   crisis    x2: predicted crisis, none
#   none      x4: predicted none, none, none, emergency
GOLD = ["emergency"] * 4 + ["crisis"] * 2 + ["none"] * 4
PREDICTED = [
    "emergency",
    "emergency",
    "crisis",
    "none",
    "crisis",
    "none",
    "none",
    "none",
    "none",
    "emergency",
]


def test_the_figures_match_a_hand_count() -> None:
    report = score(GOLD, PREDICTED)
    # 6 positives, 4 flagged (either category) -> recall 4/6
    assert report.recall == pytest.approx(4 / 6)
    # 4 "none", 1 flagged -> false-alarm rate 1/4
    assert report.false_alarm_rate == pytest.approx(0.25)
    # of the 4 positives flagged, 3 got the right category (the crisis-for-emergency did not)
    assert report.category_accuracy == pytest.approx(3 / 4)
    assert report.n == 10


def test_the_confusion_counts_rows_as_truth_and_columns_as_prediction() -> None:
    report = score(GOLD, PREDICTED)
    assert report.count("emergency", "emergency") == 2
    assert report.count("emergency", "crisis") == 1
    assert report.count("emergency", "none") == 1
    assert report.count("crisis", "crisis") == 1
    assert report.count("none", "emergency") == 1
    assert report.count("crisis", "emergency") == 0


def test_the_report_is_a_table_then_the_summary_last() -> None:
    lines = format_report(score(GOLD, PREDICTED)).splitlines()
    assert lines[-1] == "recall=0.6667 false_alarm_rate=0.2500 category_accuracy=0.7500 n=10"
    assert lines[0].split()[-4:] == ["emergency", "crisis", "none", "total"]
    assert lines[1].split() == ["emergency", "2", "1", "1", "4"]
    assert lines[2].split() == ["crisis", "0", "1", "1", "2"]
    assert lines[3].split() == ["none", "1", "0", "3", "4"]
    assert len(lines) == 5


def test_a_file_without_positives_claims_no_recall() -> None:
    report = score(["none", "none"], ["none", "crisis"])
    assert (report.recall, report.false_alarm_rate, report.category_accuracy) == (0.0, 0.5, 0.0)


def test_a_file_without_none_has_no_false_alarm_rate_to_speak_of() -> None:
    report = score(["crisis", "emergency"], ["crisis", "emergency"])
    assert (report.recall, report.false_alarm_rate, report.category_accuracy) == (1.0, 0.0, 1.0)


def test_scoring_refuses_mismatched_lists_and_unknown_categories() -> None:
    with pytest.raises(ValueError, match="2 gold labels but 1 predictions"):
        score(["none", "crisis"], ["none"])
    with pytest.raises(ValueError, match="unknown safety category 'urgent'"):
        score(["none"], ["urgent"])
    with pytest.raises(ValueError, match="nothing to score"):
        score([], [])


def test_evaluate_runs_the_screen_on_each_message() -> None:
    messages = [LabelledMessage("help", "emergency"), LabelledMessage("hi", "none")]
    report = evaluate(messages, lambda text: "emergency")
    assert (report.recall, report.false_alarm_rate, report.n) == (1.0, 1.0, 2)


def test_reading_keeps_line_numbers_and_ignores_other_keys_and_blank_lines() -> None:
    lines = [
        json.dumps({"text": "cant breathe", "label": "emergency", "batch": "a"}),
        "",
        json.dumps({"label": "none", "text": "hours?"}),
    ]
    assert read_labelled_messages(lines) == [
        LabelledMessage("cant breathe", "emergency", 1),
        LabelledMessage("hours?", "none", 3),
    ]


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        ('{"text": "my secret words", "label": "none"', "not valid JSON"),
        ('["my secret words", "none"]', "JSON object"),
        ('{"label": "none"}', "'text'"),
        ('{"text": "my secret words"}', "'label'"),
        ('{"text": "my secret words", "label": 3}', "'label'"),
        ('{"text": "my secret words", "label": "urgent"}', "unknown label 'urgent'"),
    ],
)
def test_a_bad_line_is_named_by_its_number_without_its_text(bad_line: str, reason: str) -> None:
    lines = [json.dumps({"text": "hi", "label": "none"}), "", bad_line]
    with pytest.raises(EvaluationFileError, match=reason) as caught:
        read_labelled_messages(lines)
    assert caught.value.line_number == 3
    assert str(caught.value).startswith("line 3: ")
    assert "secret" not in str(caught.value)


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(EvaluationFileError, match="no labelled messages"):
        read_labelled_messages(["", "  "])


def test_mistakes_are_line_numbers_and_categories_only() -> None:
    messages = [
        LabelledMessage("fine", "none", 1),
        LabelledMessage("chest pain", "emergency", 2),
        LabelledMessage("I want to die", "crisis", 4),
    ]
    found = mistakes(messages, lambda text: "emergency" if "chest" in text else "none")
    assert [(m.line, m.label, m.predicted) for m in found] == [(4, "crisis", "none")]


def _write(tmp_path: Path, rows: list[dict[str, str]]) -> Path:
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    return path


def test_the_cli_prints_the_table_and_the_summary_last(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(
        tmp_path,
        [
            {"text": "my dad is having chest pain", "label": "emergency"},
            {"text": "i want to kill myself", "label": "crisis"},
            {"text": "I'm dying to get in this week", "label": "none"},
            {"text": "what are your hours", "label": "none"},
        ],
    )
    assert main(["safety", "evaluate", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "recall=1.0000 false_alarm_rate=0.0000 category_accuracy=1.0000 n=4"
    assert [line.split()[0] for line in out[1:-1]] == ["emergency", "crisis", "none"]


def test_the_cli_lists_mistakes_by_line_number_never_by_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(
        tmp_path,
        [
            {"text": "what are your hours", "label": "none"},
            {"text": "what are your hours please", "label": "crisis"},
        ],
    )
    assert main(["safety", "evaluate", "--mistakes", str(path)]) == 0
    out = capsys.readouterr().out
    assert "line 2: labelled crisis, screened none" in out
    assert "hours" not in out
    assert out.splitlines()[-1].startswith("recall=0.0000 false_alarm_rate=0.0000")


def test_the_cli_names_the_file_and_line_of_a_malformed_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text('{"text": "hi", "label": "none"}\n{"text": "my private words", "label": "sos"}\n')
    assert main(["safety", "evaluate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: line 2: unknown label 'sos'" in err
    assert "private" not in err


def test_the_cli_reports_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["safety", "evaluate", str(tmp_path / "nope.jsonl")]) == 2
    assert "careline safety evaluate:" in capsys.readouterr().err


def test_the_cli_reports_a_file_that_is_not_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "set.jsonl"
    path.write_bytes(b"\xff\xfe\x00garbage")
    assert main(["safety", "evaluate", str(path)]) == 2
    assert "not UTF-8 text" in capsys.readouterr().err


def test_the_cli_scores_the_rules_alone_on_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, [{"text": "my dad is having chest pain", "label": "emergency"}])
    assert main(["safety", "evaluate", "--rules-only", str(path)]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("recall=1.0000")


def _corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    rows = [
        {"text": "i want to end it all tonight", "label": "crisis"},
        {"text": "he is not breathing and blue", "label": "emergency"},
        {"text": "can i book a checkup", "label": "none"},
        {"text": "what time do you open", "label": "none"},
    ]
    for name in ("a", "b"):
        (corpus / f"{name}.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return corpus


def test_the_cli_trains_a_model_and_then_finds_it_current(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus, out = _corpus(tmp_path), tmp_path / "model.json"
    assert main(["safety", "train", "--corpus", str(corpus), "--out", str(out)]) == 0
    assert "trained on 2 labelled files and the rules" in capsys.readouterr().out
    assert main(["safety", "train", "--check", "--corpus", str(corpus), "--out", str(out)]) == 0
    assert "as it is" in capsys.readouterr().out
    # a changed label file makes the model stale, by name
    (corpus / "b.jsonl").write_text('{"text": "thanks", "label": "none"}\n', encoding="utf-8")
    assert main(["safety", "train", "--check", "--corpus", str(corpus), "--out", str(out)]) == 1
    assert "stale" in (said := capsys.readouterr().out)
    assert "b.jsonl" in said
    assert "a.jsonl" not in said


def test_the_cli_reports_an_empty_corpus_or_a_bad_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["safety", "train", "--corpus", str(empty), "--out", str(tmp_path / "m.json")]) == 2
    assert "no *.jsonl files" in capsys.readouterr().err
    (empty / "bad.jsonl").write_text('{"text": "private words", "label": "sos"}\n', encoding="utf-8")
    assert main(["safety", "train", "--corpus", str(empty), "--out", str(tmp_path / "m.json")]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl: line 1: unknown label 'sos'" in err
    assert "private" not in err
    assert not (tmp_path / "m.json").exists()
