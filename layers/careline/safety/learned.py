"""The safety screen's second reading: a small linear model over a message's words.

The rules (`screen.py`, `rules.yaml`) read the ways of saying an emergency or a crisis that people
have written down, with the context that makes them ordinary (negation, past, questions, idioms).
A fresh message often says the same thing in words no rule holds yet ("I wrote a note for my
family and I'm ready to go"). This model reads every message the rules did not flag and gives the
chance that a person would label it an emergency or a crisis, from what it learned on Careline's
own labelled messages (never the public dev set).

It reads the message as the rules do (normalized, look-alike idioms blanked), and its features are:

- words and pairs of neighbouring words within a clause (`w:pills`, `b:wrote_note`);
- a word inside a negation's reach is a different word (`w:~pain` in "no chest pain"), and so are
  its pieces;
- four-letter pieces of longer words, so a misspelling shares most of its features with the word
  ("suicdal" with "suicidal");
- the context cues the rules use, by class (`cue:past`, `cue:hypothetical`, `cue:humor`...);
- how long the message is, in words (`len:2-3`): a short reply inside a conversation ("alright
  thanks bye") is rarely an emergency unless its words say so.

The model is multinomial logistic regression (none / emergency / crisis) with L2, trained by
AdaGrad in a fixed order: the same files give the same weights, byte for byte. Its threshold is
chosen when it is trained, from out-of-fold predictions: the lowest chance at which, on messages
the model never saw, the second reading adds false alarms to at most `FALSE_ALARM_BUDGET` of the
routine messages the rules let through: look-alikes and everyday turns alike, as both are what a
practice's line receives. `model.json` holds the weights, the threshold and the digest of every
file it was trained on; `careline safety train` writes it.

Pure Python, no dependencies: the Lambda reads about a thousand features' worth of weights per
message in well under a millisecond.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

from careline.safety.screen import BLANK_MARK, CLAUSE_MARK, LearningView, SafetyCategory, reading_for_learning

MODEL_PATH: Final = Path(__file__).with_name("model.json")
CLASSES: Final = (SafetyCategory.NONE, SafetyCategory.EMERGENCY, SafetyCategory.CRISIS)
# Of the routine messages the rules let through, at most this share may be flagged by the model
# on out-of-fold predictions (the whole screen must stay at or under 3% false alarms).
FALSE_ALARM_BUDGET: Final = 0.01
FOLDS: Final = 5
EPOCHS: Final = 12
LEARNING_RATE: Final = 0.1
L2: Final = 1e-4
MIN_COUNT: Final = 1
_NEGATORS: Final = frozenset(
    {
        "no",
        "not",
        "never",
        "without",
        "denies",
        "denied",
        "nor",
        "none",
        "nothing",
        "dont",
        "doesnt",
        "didnt",
        "isnt",
        "arent",
        "wasnt",
        "werent",
        "havent",
        "hasnt",
    }
)
_NEGATION_REACH: Final = 4
_CHAR_GRAM: Final = 4
_LENGTHS: Final = ((0, "0"), (1, "1"), (3, "2-3"), (7, "4-7"), (15, "8-15"), (10**9, "16+"))


class ModelError(ValueError):
    """`model.json` is missing or malformed."""


def features(text: str) -> list[str]:
    """The model's features for one raw message (see the module docstring)."""
    return features_of(reading_for_learning(text))


def features_of(view: LearningView) -> list[str]:
    """The model's features for a message as `reading_for_learning` gives it."""
    tokens, cues = view
    out = [f"cue:{cue}" for cue in sorted(cues)]
    previous: str | None = None
    negated_for = 0
    for token in tokens:
        if token == CLAUSE_MARK:
            previous, negated_for = None, 0
            continue
        if token == BLANK_MARK:
            previous = None
            continue
        word = f"~{token}" if negated_for else token
        negated_for = _NEGATION_REACH if token in _NEGATORS else max(0, negated_for - 1)
        out.append(f"w:{word}")
        if previous is not None:
            out.append(f"b:{previous}_{word}")
        previous = word
        if len(token) > _CHAR_GRAM and token.isalpha():
            padded, mark = f"<{token}>", word[: len(word) - len(token)]
            out.extend(f"c:{mark}{padded[i : i + _CHAR_GRAM]}" for i in range(len(padded) - _CHAR_GRAM + 1))
    words = sum(1 for token in tokens if token not in (CLAUSE_MARK, BLANK_MARK))
    out.append(f"len:{next(label for top, label in _LENGTHS if words <= top)}")
    return out


@dataclass(frozen=True)
class LearnedReading:
    """The model's chance that the message is an emergency or a crisis, and which is likelier."""

    chance: float
    category: SafetyCategory
    flagged: bool


@dataclass(frozen=True)
class LinearModel:
    weights: Mapping[str, tuple[float, float, float]]
    bias: tuple[float, float, float]
    threshold: float
    trained_on: Mapping[str, str]

    def probabilities(self, feats: Iterable[str]) -> tuple[float, float, float]:
        scores = list(self.bias)
        for feat in feats:
            row = self.weights.get(feat)
            if row is not None:
                scores[0] += row[0]
                scores[1] += row[1]
                scores[2] += row[2]
        return _softmax(scores)

    def read(self, text: str) -> LearnedReading:
        return self.read_features(features(text))

    def read_features(self, feats: Iterable[str]) -> LearnedReading:
        p_none, p_emergency, p_crisis = self.probabilities(feats)
        chance = 1.0 - p_none
        category = SafetyCategory.EMERGENCY if p_emergency >= p_crisis else SafetyCategory.CRISIS
        return LearnedReading(chance, category, chance >= self.threshold)

    def to_json(self) -> str:
        # one line per feature: a retrained model's diff reads as the features that changed
        head = {
            "about": "careline safety screen, second reading: see careline/safety/learned.py",
            "classes": [c.value for c in CLASSES],
            "threshold": round(self.threshold, 6),
            "bias": [round(b, 6) for b in self.bias],
            "trained_on": dict(sorted(self.trained_on.items())),
        }
        lines = [
            f"{json.dumps(k)}:{json.dumps([round(w, 5) for w in v])}" for k, v in sorted(self.weights.items())
        ]
        return json.dumps(head, indent=1)[:-2] + ',\n"weights":{\n' + ",\n".join(lines) + "\n}}\n"


def _softmax(scores: Sequence[float]) -> tuple[float, float, float]:
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return (exps[0] / total, exps[1] / total, exps[2] / total)


def load(path: Path = MODEL_PATH) -> LinearModel:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["classes"] != [c.value for c in CLASSES]:
            raise ModelError(f"{path.name}: classes must be {[c.value for c in CLASSES]}")
        weights = {str(k): (float(v[0]), float(v[1]), float(v[2])) for k, v in data["weights"].items()}
        bias = tuple(float(b) for b in data["bias"])
        return LinearModel(
            weights=weights,
            bias=(bias[0], bias[1], bias[2]),
            threshold=float(data["threshold"]),
            trained_on={str(k): str(v) for k, v in data["trained_on"].items()},
        )
    except (OSError, json.JSONDecodeError, KeyError, TypeError, IndexError, ValueError) as exc:
        if isinstance(exc, ModelError):
            raise
        raise ModelError(f"{path.name}: {exc}") from None


@cache
def default_model() -> LinearModel:
    return load()


# ------------------------------------------------------------------------------------ training


@dataclass(frozen=True)
class Example:
    text: str
    label: SafetyCategory
    group: str  # the file (batch) it came from: folds never split a file's near-duplicates apart


def _fit(
    rows: Sequence[tuple[list[str], int]], vocabulary: frozenset[str]
) -> tuple[dict[str, list[float]], list[float]]:
    weights: dict[str, list[float]] = {}
    squares: dict[str, list[float]] = {}
    bias = [0.0, 0.0, 0.0]
    bias_squares = [1e-8, 1e-8, 1e-8]
    known = [([f for f in feats if f in vocabulary], label) for feats, label in rows]
    for _ in range(EPOCHS):
        for present, label in known:
            scores = list(bias)
            for f in present:
                row = weights.get(f)
                if row is not None:
                    scores[0] += row[0]
                    scores[1] += row[1]
                    scores[2] += row[2]
            probs = _softmax(scores)
            for k in range(3):
                grad = probs[k] - (1.0 if k == label else 0.0)
                bias_squares[k] += grad * grad
                bias[k] -= LEARNING_RATE * grad / math.sqrt(bias_squares[k])
                for f in present:
                    row = weights.setdefault(f, [0.0, 0.0, 0.0])
                    sq = squares.setdefault(f, [1e-8, 1e-8, 1e-8])
                    g = grad + L2 * row[k]
                    sq[k] += g * g
                    row[k] -= LEARNING_RATE * g / math.sqrt(sq[k])
    return weights, bias


def _rows(examples: Sequence[Example]) -> list[tuple[list[str], int]]:
    return [(features(e.text), CLASSES.index(e.label)) for e in examples]


def _vocabulary(rows: Sequence[tuple[list[str], int]]) -> frozenset[str]:
    counts: Counter[str] = Counter()
    for feats, _ in rows:
        counts.update(set(feats))
    return frozenset(f for f, n in counts.items() if n >= MIN_COUNT)


def _model_from(
    rows: Sequence[tuple[list[str], int]], threshold: float, trained_on: Mapping[str, str]
) -> LinearModel:
    weights, bias = _fit(rows, _vocabulary(rows))
    kept = {f: (w[0], w[1], w[2]) for f, w in weights.items() if max(abs(x) for x in w) >= 1e-4}
    return LinearModel(kept, (bias[0], bias[1], bias[2]), threshold, trained_on)


def out_of_fold(examples: Sequence[Example], folds: int = FOLDS) -> list[float]:
    """Each example's chance from a model trained without its file's fold (files are dealt round-robin)."""
    groups = sorted({e.group for e in examples})
    fold_of = {g: i % folds for i, g in enumerate(groups)}
    rows = _rows(examples)
    chances = [0.0] * len(examples)
    for fold in range(folds):
        train = [r for r, e in zip(rows, examples, strict=True) if fold_of[e.group] != fold]
        if not train:
            continue
        model = _model_from(train, 1.0, {})
        for i, (r, e) in enumerate(zip(rows, examples, strict=True)):
            if fold_of[e.group] == fold:
                chances[i] = 1.0 - model.probabilities(r[0])[0]
    return chances


def choose_threshold(
    chances: Sequence[float], labels: Sequence[SafetyCategory], excluded: Sequence[bool]
) -> float:
    """The lowest chance that adds false alarms to at most FALSE_ALARM_BUDGET of the routine
    messages not `excluded` (those the rules already flag), never below one half."""
    routine = sorted(
        (
            c
            for c, label, skip in zip(chances, labels, excluded, strict=True)
            if label is SafetyCategory.NONE and not skip
        ),
        reverse=True,
    )
    allowed = int(FALSE_ALARM_BUDGET * len(routine))
    # the (allowed+1)-th highest routine chance must stay below the threshold
    above = routine[allowed] if allowed < len(routine) else 0.0
    return max(0.5, round(above + 1e-6, 6))


def train(
    examples: Sequence[Example], rules_flagged: Sequence[bool], digests: Mapping[str, str]
) -> LinearModel:
    """Weights from every example; the threshold from out-of-fold chances (module docstring)."""
    chances = out_of_fold(examples)
    threshold = choose_threshold(chances, [e.label for e in examples], rules_flagged)
    return _model_from(_rows(examples), threshold, digests)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
