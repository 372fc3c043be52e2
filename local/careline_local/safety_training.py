"""Training the safety screen's second reading from the labelled corpus (`careline safety train`).

The corpus is every `*.jsonl` file in `data/safety/` (Careline's own labelled messages; the
shared dev set is never among them). The model records the SHA-256 of each file it learned from,
and of `rules.yaml` (the model reads messages as the rules normalize them, and its threshold
depends on what the rules already flag), so `careline safety train --check` (and a test) can tell
when `model.json` no longer matches and must be retrained.
"""

from __future__ import annotations

from pathlib import Path

from careline.evaluation import EvaluationFileError
from careline.safety import RuleScreen, SafetyCategory
from careline.safety.evaluate import read_labelled_messages
from careline.safety.learned import Example, LinearModel, digest, train
from careline.safety.screen import RULES_PATH


def corpus_files(corpus: Path) -> list[Path]:
    files = sorted(corpus.glob("*.jsonl"))
    if not files:
        raise FileNotFoundError(f"no *.jsonl files in {corpus}")
    return files


def digests(corpus: Path) -> dict[str, str]:
    found = {path.name: digest(path.read_bytes()) for path in corpus_files(corpus)}
    found[RULES_PATH.name] = digest(RULES_PATH.read_bytes())
    return found


def examples(corpus: Path) -> list[Example]:
    out: list[Example] = []
    for path in corpus_files(corpus):
        try:
            messages = read_labelled_messages(path.read_text(encoding="utf-8").splitlines())
        except EvaluationFileError as exc:
            raise EvaluationFileError(f"{path.name}: {exc}") from None
        out.extend(Example(m.text, SafetyCategory(m.label), path.name) for m in messages)
    return out


def train_from(corpus: Path) -> LinearModel:
    found = examples(corpus)
    rules = RuleScreen()
    flagged = [rules.screen(e.text).flagged for e in found]
    return train(found, flagged, digests(corpus))


def stale(model: LinearModel, corpus: Path) -> list[str]:
    """The files (corpus and rules) added, removed or changed since `model` was trained (empty: up
    to date)."""
    now = digests(corpus)
    names = sorted(set(now) | set(model.trained_on))
    return [name for name in names if now.get(name) != model.trained_on.get(name)]
