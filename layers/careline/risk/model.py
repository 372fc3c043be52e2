"""The no-show risk model: calibrated chances from a JSON artifact, pure Python.

A logistic regression over the one-hot features of `careline.risk.features` gives a score (a
log-odds); a calibration map fitted on a later, held-out slice of the training window turns the
score into a probability that means what it says (of the visits scored 0.30, about 30% are
missed). The artifact records its version and how it was trained (data digest, window, rows kept
and dropped, the held-out figures), so a probability can always be traced to what taught it.

`careline risk train` (in `careline_local.risk_training`) writes the artifact; a Lambda loads it
with `load()` and calls `RiskModel.probability(facts)`: a few dozen dictionary reads per visit.
No artifact ships in this package (docs/decisions/0014): a practice's model is trained on its own
EHR history.
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, Final, Literal

from careline.risk.facts import AppointmentFacts
from careline.risk.features import risk_features

FORMAT: Final = "careline-noshow-risk/1"


class RiskModelError(ValueError):
    """A risk model artifact is missing, malformed or of another format."""


def sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass(frozen=True)
class Calibration:
    """Score (log-odds) → probability. `platt`: sigmoid(a·score + b). `isotonic`: a non-decreasing
    step-free map through `points` (score, probability), linear between them, flat beyond."""

    kind: Literal["platt", "isotonic"]
    a: float = 1.0
    b: float = 0.0
    points: tuple[tuple[float, float], ...] = ()

    def apply(self, score: float) -> float:
        if self.kind == "platt":
            return sigmoid(self.a * score + self.b)
        xs = [x for x, _ in self.points]
        i = bisect.bisect_left(xs, score)
        if i == 0:
            return self.points[0][1]
        if i == len(xs):
            return self.points[-1][1]
        (x0, y0), (x1, y1) = self.points[i - 1], self.points[i]
        return y0 + (y1 - y0) * (score - x0) / (x1 - x0) if x1 > x0 else y1

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "platt":
            return {"kind": "platt", "a": round(self.a, 6), "b": round(self.b, 6)}
        return {"kind": "isotonic", "points": [[round(x, 6), round(y, 6)] for x, y in self.points]}


@dataclass(frozen=True)
class TrainingRecord:
    """What a model learned from: enough to reproduce it and to judge it."""

    source: str  # the file's name (never its rows)
    data_sha256: str
    window_from: str  # ISO days, inclusive
    window_until: str
    rows: int  # appointments learned from
    dropped: Mapping[str, int]  # rows of the file left out, by reason
    calibration_from: str  # the held-out slice the calibration was fitted on
    metrics: Mapping[str, float]  # held-out figures: auc, brier, n


@dataclass(frozen=True)
class RiskModel:
    version: str
    bias: float
    weights: Mapping[str, float]
    calibration: Calibration
    training: TrainingRecord
    features: tuple[str, ...] = field(default=())

    def score(self, facts: AppointmentFacts) -> float:
        """The uncalibrated log-odds of a no-show."""
        return self.bias + sum(self.weights.get(f, 0.0) for f in risk_features(facts))

    def probability(self, facts: AppointmentFacts) -> float:
        """The calibrated chance that the patient misses this appointment."""
        return self.calibration.apply(self.score(facts))

    def to_json(self) -> str:
        t = self.training
        head = {
            "format": FORMAT,
            "about": "careline no-show risk model: see careline/risk/model.py",
            "version": self.version,
            "training": {
                "source": t.source,
                "data_sha256": t.data_sha256,
                "window": {"from": t.window_from, "until": t.window_until},
                "rows": t.rows,
                "dropped": dict(sorted(t.dropped.items())),
                "calibration_from": t.calibration_from,
                "metrics": {k: round(v, 6) for k, v in sorted(t.metrics.items())},
            },
            "features": sorted(self.features or self.weights),
            "calibration": self.calibration.to_dict(),
            "bias": round(self.bias, 6),
        }
        # one line per weight: a retrained model's diff reads as the weights that moved
        lines = [f"{json.dumps(k)}:{round(w, 6)}" for k, w in sorted(self.weights.items())]
        return json.dumps(head, indent=1)[:-2] + ',\n"weights":{\n' + ",\n".join(lines) + "\n}}\n"


def _calibration(data: Mapping[str, Any]) -> Calibration:
    kind = data["kind"]
    if kind == "platt":
        return Calibration("platt", a=float(data["a"]), b=float(data["b"]))
    if kind == "isotonic":
        points = tuple((float(x), float(y)) for x, y in data["points"])
        if not points:
            raise RiskModelError("isotonic calibration has no points")
        if any(x1 < x0 or y1 < y0 for (x0, y0), (x1, y1) in pairwise(points)):
            raise RiskModelError("isotonic calibration points must not decrease")
        return Calibration("isotonic", points=points)
    raise RiskModelError(f"unknown calibration kind {kind!r}")


def model_from_dict(data: Mapping[str, Any]) -> RiskModel:
    """Parse an artifact's JSON object (`RiskModelError` says what is wrong)."""
    try:
        if data.get("format") != FORMAT:
            raise RiskModelError(f"format must be {FORMAT!r}, not {data.get('format')!r}")
        t = data["training"]
        training = TrainingRecord(
            source=str(t["source"]),
            data_sha256=str(t["data_sha256"]),
            window_from=str(t["window"]["from"]),
            window_until=str(t["window"]["until"]),
            rows=int(t["rows"]),
            dropped={str(k): int(v) for k, v in t["dropped"].items()},
            calibration_from=str(t["calibration_from"]),
            metrics={str(k): float(v) for k, v in t["metrics"].items()},
        )
        weights = {str(k): float(v) for k, v in data["weights"].items()}
        return RiskModel(
            version=str(data["version"]),
            bias=float(data["bias"]),
            weights=weights,
            calibration=_calibration(data["calibration"]),
            training=training,
            features=tuple(str(f) for f in data["features"]),
        )
    except RiskModelError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RiskModelError(f"malformed risk model: {type(exc).__name__}: {exc}") from None


def load(path: Path) -> RiskModel:
    """Read a model artifact written by `careline risk train`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RiskModelError(f"{path}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RiskModelError(f"{path}: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise RiskModelError(f"{path}: not a JSON object")
    try:
        return model_from_dict(data)
    except RiskModelError as exc:
        raise RiskModelError(f"{path}: {exc}") from None
