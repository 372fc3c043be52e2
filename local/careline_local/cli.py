"""The `careline` command: `local`, `chat` (`--voice` to call), `scenario run`, `nlu evaluate`,
`safety evaluate`, `safety train`, `risk train` and `risk backtest`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from careline_local.paths import PRACTICE_CONFIG, SAFETY_CORPUS
from careline_local.scenario_model import E164


def _e164(value: str) -> str:
    if not E164.match(value):
        raise argparse.ArgumentTypeError("use an E.164 number, like +15035550142")
    return value


def _port(value: str) -> int:
    port = int(value)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError("a port is 0..65535 (0 picks a free one)")
    return port


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date; use YYYY-MM-DD") from None


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="careline", description="Careline's developer commands.")
    commands = root.add_subparsers(dest="command", required=True)

    local = commands.add_parser("local", help="run Careline locally on 127.0.0.1 until Ctrl-C")
    local.add_argument("--port", type=_port, default=8080, help="gateway port (default 8080; 0 = any free)")
    local.add_argument("--no-fhir", action="store_true", help="do not start the FHIR dev server")
    local.add_argument("--config", type=Path, default=PRACTICE_CONFIG, help="practice configuration YAML")

    chat = commands.add_parser(
        "chat", help="text (or, with --voice, call) the local runtime from this terminal"
    )
    chat.add_argument("--phone", type=_e164, required=True, help="the number to text or call from (E.164)")
    chat.add_argument("--url", default="http://127.0.0.1:8080", help="the local gateway")
    chat.add_argument(
        "--voice",
        action="store_true",
        help="call instead of texting: type what you say, #digits for keys, /hangup to end",
    )

    scenario = commands.add_parser("scenario", help="conversation scenarios")
    scenario_commands = scenario.add_subparsers(dest="scenario_command", required=True)
    run = scenario_commands.add_parser("run", help="run YAML scenarios (files or folders)")
    run.add_argument("paths", nargs="+", type=Path, help="scenario files or folders of *.yaml")
    run.add_argument("--config", type=Path, default=PRACTICE_CONFIG, help="practice configuration YAML")

    nlu = commands.add_parser("nlu", help="the local intent classifier")
    nlu_commands = nlu.add_subparsers(dest="nlu_command", required=True)
    evaluate = nlu_commands.add_parser(
        "evaluate", help="score the classifier on labelled messages (JSON lines with text and intent)"
    )
    evaluate.add_argument("file", type=Path, help='a .jsonl file of {"text": ..., "intent": ...} lines')

    safety = commands.add_parser("safety", help="the safety screen (emergency, crisis, none)")
    safety_commands = safety.add_subparsers(dest="safety_command", required=True)
    safety_evaluate = safety_commands.add_parser(
        "evaluate", help="score the safety screen on labelled messages (JSON lines with text and label)"
    )
    safety_evaluate.add_argument(
        "file", type=Path, help='a .jsonl file of {"text": ..., "label": "emergency"|"crisis"|"none"} lines'
    )
    safety_evaluate.add_argument(
        "--mistakes",
        action="store_true",
        help="also list the line numbers the screen got wrong (never the messages' text)",
    )
    safety_evaluate.add_argument(
        "--rules-only", action="store_true", help="score the rules alone, without the learned second reading"
    )
    safety_train = safety_commands.add_parser(
        "train", help="retrain the second reading (model.json) from the labelled corpus"
    )
    safety_train.add_argument(
        "--corpus",
        type=Path,
        default=SAFETY_CORPUS,
        help="labelled .jsonl files (default data/safety)",
    )
    safety_train.add_argument(
        "--out", type=Path, default=None, help="where to write the model (default: the package's model.json)"
    )
    safety_train.add_argument(
        "--check", action="store_true", help="only say whether model.json was trained on the corpus as it is"
    )

    risk = commands.add_parser("risk", help="the no-show risk model (docs/decisions/0014)")
    risk_commands = risk.add_subparsers(dest="risk_command", required=True)
    risk_train = risk_commands.add_parser(
        "train", help="train a calibrated no-show model on appointments up to a day and write it as JSON"
    )
    risk_train.add_argument("--csv", type=Path, required=True, help="appointments CSV (see risk_training.py)")
    risk_train.add_argument("--until", type=_day, required=True, help="last appointment day to learn from")
    risk_train.add_argument("--out", type=Path, required=True, help="where to write the model JSON")
    risk_backtest = risk_commands.add_parser(
        "backtest", help="train up to one day, score from a later one: calibration table, AUC, Brier"
    )
    risk_backtest.add_argument("--csv", type=Path, required=True, help="appointments CSV")
    risk_backtest.add_argument("--train-until", type=_day, required=True, help="last training day")
    risk_backtest.add_argument("--test-from", type=_day, required=True, help="first day scored")
    risk_backtest.add_argument(
        "--baseline", action="store_true", help="score the plain logistic regression (numbers, no history)"
    )
    return root


def _nlu_evaluate(path: Path) -> int:
    from careline.evaluation import EvaluationFileError
    from careline.nlu import classify
    from careline.nlu.evaluate import evaluate, format_report, read_labelled_messages

    try:
        with path.open(encoding="utf-8") as lines:
            messages = read_labelled_messages(lines)
    except OSError as exc:
        print(f"careline nlu evaluate: {exc}", file=sys.stderr)
        return 2
    except EvaluationFileError as exc:
        print(f"careline nlu evaluate: {path}: {exc}", file=sys.stderr)
        return 2
    print(format_report(evaluate(messages, lambda text: classify(text).intent)))
    return 0


def _safety_evaluate(path: Path, *, show_mistakes: bool, rules_only: bool) -> int:
    from careline.evaluation import EvaluationFileError
    from careline.safety import RuleScreen, SafetyScreen
    from careline.safety.evaluate import (
        evaluate,
        format_report,
        mistakes,
        read_labelled_messages,
    )

    try:
        with path.open(encoding="utf-8") as lines:
            messages = read_labelled_messages(lines)
    except OSError as exc:
        print(f"careline safety evaluate: {exc}", file=sys.stderr)
        return 2
    except UnicodeDecodeError as exc:
        print(f"careline safety evaluate: {path}: not UTF-8 text ({exc.reason})", file=sys.stderr)
        return 2
    except EvaluationFileError as exc:
        print(f"careline safety evaluate: {path}: {exc}", file=sys.stderr)
        return 2
    screen = RuleScreen() if rules_only else SafetyScreen()

    def category(text: str) -> str:
        return screen.screen(text).category.value

    if show_mistakes:
        for wrong in mistakes(messages, category):
            print(f"line {wrong.line}: labelled {wrong.label}, screened {wrong.predicted}")
    print(format_report(evaluate(messages, category)))
    return 0


def _safety_train(corpus: Path, *, out: Path | None, check: bool) -> int:
    from careline.evaluation import EvaluationFileError
    from careline.safety.learned import MODEL_PATH, ModelError, load

    from careline_local.safety_training import stale, train_from

    try:
        if check:
            changed = stale(load(out or MODEL_PATH), corpus)
            if changed:
                print(f"model.json is stale; retrain (careline safety train): {', '.join(changed)}")
                return 1
            print("model.json was trained on the corpus as it is")
            return 0
        model = train_from(corpus)
        target = out or MODEL_PATH
        target.write_text(model.to_json(), encoding="utf-8")
    except (OSError, ModelError) as exc:
        print(f"careline safety train: {exc}", file=sys.stderr)
        return 2
    except EvaluationFileError as exc:
        print(f"careline safety train: {corpus}: {exc}", file=sys.stderr)
        return 2
    print(
        f"trained on {len(model.trained_on) - 1} labelled files and the rules: {len(model.weights)} "
        f"features, threshold {model.threshold:.4f}; wrote {target}"
    )
    return 0


def _risk(args: argparse.Namespace) -> int:
    from careline.risk import RiskModelError

    from careline_local.risk_training import RiskDataError, backtest, read_appointments, train

    name = f"careline risk {args.risk_command}"
    try:
        data = read_appointments(args.csv)
        if args.risk_command == "train":
            model = train(data, args.until)
            args.out.write_text(model.to_json(), encoding="utf-8")
        else:
            result = backtest(data, args.train_until, args.test_from, baseline=args.baseline)
    except OSError as exc:
        print(f"{name}: {exc.filename or args.csv}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except (RiskDataError, RiskModelError) as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    if args.risk_command == "train":
        t = model.training
        dropped = ", ".join(f"{n} {why}" for why, n in sorted(t.dropped.items())) or "none"
        print(
            f"model {model.version}: {t.rows} appointments {t.window_from}..{t.window_until} "
            f"(rows dropped: {dropped}), calibrated on {t.calibration_from}..: "
            f"held-out auc={t.metrics['held_out_auc']:.4f} brier={t.metrics['held_out_brier']:.4f}; "
            f"wrote {args.out}"
        )
        return 0
    print(result.report())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "local":
        from careline.errors import ConfigError

        from careline_local.runtime import LocalOptions, run_local

        try:
            return run_local(LocalOptions(port=args.port, fhir=not args.no_fhir, config_path=args.config))
        except ConfigError as exc:
            print(f"careline local: {exc}", file=sys.stderr)
            return 2
        except OSError as exc:
            print(f"careline local: {exc} (is port {args.port} in use? try --port)", file=sys.stderr)
            return 1
    if args.command == "chat":
        from careline_local.chat import call, chat

        return call(args.phone, args.url) if args.voice else chat(args.phone, args.url)
    if args.command == "scenario":
        from careline_local.logs import setup_logging
        from careline_local.scenario_model import ScenarioError
        from careline_local.scenarios import run_scenarios

        setup_logging("scenarios.log", console=False)
        try:
            results = run_scenarios(args.paths, config_path=args.config)
        except ScenarioError as exc:
            print(f"careline scenario run: {exc}", file=sys.stderr)
            return 2
        return 0 if all(r.passed for r in results) else 1
    if args.command == "nlu":
        return _nlu_evaluate(args.file)
    if args.command == "risk":
        return _risk(args)
    if args.command == "safety" and args.safety_command == "train":
        return _safety_train(args.corpus, out=args.out, check=args.check)
    if args.command == "safety":
        return _safety_evaluate(args.file, show_mistakes=args.mistakes, rules_only=args.rules_only)
    return 2


if __name__ == "__main__":
    sys.exit(main())
