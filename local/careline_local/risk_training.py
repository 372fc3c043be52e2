"""Training and backtesting the no-show risk model from an appointments CSV (`careline risk ...`).

The CSV has the columns of the public "Medical Appointment No Shows" data (one row per
appointment: PatientId, AppointmentID, Gender, ScheduledDay, AppointmentDay, Age, Neighbourhood,
Scholarship, Hipertension, Diabetes, Alcoholism, Handcap, SMS_received, No-show). A practice
exports its own EHR history in this shape to train its model.

No look-ahead. Each appointment becomes an `AppointmentFacts` whose history is the same patient's
appointments on days BEFORE its day (their outcomes were known by then); same-day and later ones
are never history. The CSV gives the appointment day without a time, so a same-day earlier visit
cannot be told from a later one: both are left out. `ScheduledDay`'s time is when the booking was
made, not when the visit is, so the model gets no hour-of-day feature from this data (only the
lead time in days). Rows booked after their appointment day, or with a negative age, are dropped
and counted.

Training (`train`): the window is every appointment on or before `until`. The last
`CALIBRATION_SHARE` of its appointment days is held out: a logistic regression is fitted on the
earlier days, the calibration map on the held-out days' scores (the figures recorded in the
artifact are that slice's), then the regression is fitted again on the whole window and keeps
that calibration. Fitting is AdaGrad over the rows in a seeded order: the same file and dates give
the same artifact, byte for byte.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import random
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Final

from careline.risk import (
    AppointmentFacts,
    Calibration,
    CoverageKind,
    Outcome,
    PriorAppointment,
    RiskModel,
    Sex,
    TrainingRecord,
    risk_features,
)
from careline.risk.model import sigmoid

COLUMNS: Final = (
    "PatientId",
    "AppointmentID",
    "Gender",
    "ScheduledDay",
    "AppointmentDay",
    "Age",
    "Scholarship",
    "Hipertension",
    "Diabetes",
    "Alcoholism",
    "Handcap",
    "SMS_received",
    "No-show",
)
CALIBRATION_SHARE: Final = 0.25
CALIBRATION: Final = "platt"
EPOCHS: Final = 12
RATE: Final = 0.05
L2: Final = 1e-3
SEED: Final = 20160429
BINS: Final = 10

Features = Sequence[tuple[str, float]]


class RiskDataError(ValueError):
    """The CSV or the dates asked for cannot be used (names the file and line, never a value)."""


@dataclass(frozen=True)
class CsvAppointment:
    line: int
    patient_id: str
    day: date
    booked_at: datetime
    age: int
    sex: Sex
    public_assistance: bool
    hypertension: bool
    diabetes: bool
    alcohol_use: bool
    disability_level: int
    reminder_sent: bool
    no_show: bool


@dataclass(frozen=True)
class AppointmentData:
    source: str
    sha256: str
    appointments: tuple[CsvAppointment, ...]
    dropped: Mapping[str, int] = field(default_factory=dict)


# ------------------------------------------------------------------------------------ reading


def _flag(value: str, column: str) -> bool:
    if value not in ("0", "1"):
        raise ValueError(f"{column}: expected 0 or 1")
    return value == "1"


def _int(value: str, column: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{column}: expected a whole number") from None


def _instant(value: str, column: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{column}: expected an ISO timestamp like 2016-04-29T18:38:08Z") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{column}: expected a UTC timestamp (ending in Z)")
    return parsed


def _row(line: int, cells: Mapping[str, str]) -> CsvAppointment:
    gender = cells["Gender"]
    if gender not in ("F", "M"):
        raise ValueError("Gender: expected F or M")
    outcome = cells["No-show"]
    if outcome not in ("Yes", "No"):
        raise ValueError("No-show: expected Yes or No")
    handicap = _int(cells["Handcap"], "Handcap")
    if not 0 <= handicap <= 4:
        raise ValueError("Handcap: expected 0 to 4")
    if not cells["PatientId"]:
        raise ValueError("PatientId: empty")
    return CsvAppointment(
        line=line,
        patient_id=cells["PatientId"],
        day=_instant(cells["AppointmentDay"], "AppointmentDay").date(),
        booked_at=_instant(cells["ScheduledDay"], "ScheduledDay"),
        age=_int(cells["Age"], "Age"),
        sex=Sex.FEMALE if gender == "F" else Sex.MALE,
        public_assistance=_flag(cells["Scholarship"], "Scholarship"),
        hypertension=_flag(cells["Hipertension"], "Hipertension"),
        diabetes=_flag(cells["Diabetes"], "Diabetes"),
        alcohol_use=_flag(cells["Alcoholism"], "Alcoholism"),
        disability_level=handicap,
        reminder_sent=_flag(cells["SMS_received"], "SMS_received"),
        no_show=outcome == "Yes",
    )


def read_appointments(path: Path) -> AppointmentData:
    """Every usable row of the CSV; bad rows dropped and counted by reason. `OSError` if the file
    cannot be read, `RiskDataError` (file and line) if a row is malformed."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RiskDataError(f"{path}: not UTF-8 text ({exc.reason})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise RiskDataError(f"{path}: empty file")
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise RiskDataError(f"{path}: line 1: missing columns {', '.join(missing)}")
    kept: list[CsvAppointment] = []
    dropped: dict[str, int] = {}
    for values in reader:
        line = reader.line_num
        if not values:
            continue
        if len(values) != len(header):
            raise RiskDataError(f"{path}: line {line}: {len(values)} fields, the header has {len(header)}")
        try:
            row = _row(line, dict(zip(header, values, strict=True)))
        except ValueError as exc:
            raise RiskDataError(f"{path}: line {line}: {exc}") from None
        reason = (
            "booked_after_day" if row.booked_at.date() > row.day else "negative_age" if row.age < 0 else None
        )
        if reason:
            dropped[reason] = dropped.get(reason, 0) + 1
            continue
        kept.append(row)
    return AppointmentData(path.name, hashlib.sha256(raw).hexdigest(), tuple(kept), dropped)


def facts_with_history(appointments: Sequence[CsvAppointment]) -> list[AppointmentFacts]:
    """Each appointment's record, with the same patient's appointments on earlier days as history."""
    by_patient: dict[str, list[CsvAppointment]] = defaultdict(list)
    for a in appointments:
        by_patient[a.patient_id].append(a)
    out: list[AppointmentFacts] = []
    for a in appointments:
        prior = tuple(
            PriorAppointment(p.day, Outcome.NO_SHOW if p.no_show else Outcome.ATTENDED)
            for p in by_patient[a.patient_id]
            if p.day < a.day
        )
        out.append(
            AppointmentFacts(
                starts_on=a.day,
                booked_at=a.booked_at,
                age=a.age,
                sex=a.sex,
                reminder_sent=a.reminder_sent,
                coverage=CoverageKind.PUBLIC_ASSISTANCE if a.public_assistance else CoverageKind.OTHER,
                hypertension=a.hypertension,
                diabetes=a.diabetes,
                alcohol_use=a.alcohol_use,
                disability_level=a.disability_level,
                prior=prior,
            )
        )
    return out


# ------------------------------------------------------------------------------------ fitting


def fit_logistic(
    rows: Sequence[Features], labels: Sequence[int], *, epochs: int = EPOCHS, seed: int = SEED
) -> tuple[float, dict[str, float]]:
    """L2 logistic regression by AdaGrad over the rows in a seeded shuffled order: (bias, weights)."""
    weights: dict[str, float] = {}
    squares: dict[str, float] = {}
    bias, bias_square = 0.0, 1e-8
    order = list(range(len(rows)))
    shuffle = random.Random(seed).shuffle
    for _ in range(epochs):
        shuffle(order)
        for i in order:
            feats = rows[i]
            gap = sigmoid(bias + sum(weights.get(f, 0.0) * v for f, v in feats)) - labels[i]
            bias_square += gap * gap
            bias -= RATE * gap / math.sqrt(bias_square)
            for f, v in feats:
                w = weights.get(f, 0.0)
                g = gap * v + L2 * w
                s = squares.get(f, 1e-8) + g * g
                squares[f] = s
                weights[f] = w - RATE * g / math.sqrt(s)
    return bias, weights


def fit_platt(scores: Sequence[float], labels: Sequence[int]) -> Calibration:
    """sigmoid(a·score + b) by Newton's method on the log loss (Platt's smoothed targets)."""
    positives = sum(labels)
    negatives = len(labels) - positives
    hi, lo = (positives + 1) / (positives + 2), 1 / (negatives + 2)
    targets = [hi if y else lo for y in labels]
    a, b = 1.0, 0.0
    for _ in range(50):
        ga = gb = haa = hab = hbb = 0.0
        for z, t in zip(scores, targets, strict=True):
            p = sigmoid(a * z + b)
            d, w = p - t, max(p * (1 - p), 1e-12)
            ga += d * z
            gb += d
            haa += w * z * z
            hab += w * z
            hbb += w
        haa += 1e-9
        hbb += 1e-9
        det = haa * hbb - hab * hab
        step_a = (hbb * ga - hab * gb) / det
        step_b = (haa * gb - hab * ga) / det
        a, b = a - step_a, b - step_b
        if abs(step_a) < 1e-9 and abs(step_b) < 1e-9:
            break
    return Calibration("platt", a=a, b=b)


def fit_isotonic(scores: Sequence[float], labels: Sequence[int]) -> Calibration:
    """Pool-adjacent-violators: blocks of (mean score, observed rate), non-decreasing."""
    blocks: list[list[float]] = []  # [score sum, positives, count]
    for z, y in sorted(zip(scores, labels, strict=True)):
        blocks.append([z, float(y), 1.0])
        while len(blocks) > 1 and blocks[-2][1] / blocks[-2][2] >= blocks[-1][1] / blocks[-1][2]:
            top = blocks.pop()
            for k in range(3):
                blocks[-1][k] += top[k]
    points = tuple((s / n, p / n) for s, p, n in blocks)
    return Calibration("isotonic", points=points)


# ------------------------------------------------------------------------------------ figures


def auc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """Area under the ROC curve, exactly: the Mann-Whitney U with tied scores given their mean rank."""
    positives = sum(labels)
    negatives = len(labels) - positives
    if not positives or not negatives:
        raise ValueError("AUC needs both outcomes")
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    rank_sum = 0.0
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        mean_rank = (i + j) / 2 + 1  # ranks are 1-based
        rank_sum += mean_rank * sum(labels[order[k]] for k in range(i, j + 1))
        i = j + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def brier(probabilities: Sequence[float], labels: Sequence[int]) -> float:
    """Mean squared difference between the predicted chance and what happened (0 or 1)."""
    return sum((p - y) ** 2 for p, y in zip(probabilities, labels, strict=True)) / len(labels)


@dataclass(frozen=True)
class CalibrationBin:
    n: int
    predicted: float  # mean predicted chance
    observed: float  # share that were missed


def calibration_table(
    probabilities: Sequence[float], labels: Sequence[int], bins: int = BINS
) -> list[CalibrationBin]:
    """Equal-count bins by predicted chance (deciles by default), lowest first."""
    order = sorted(range(len(probabilities)), key=lambda i: probabilities[i])
    out: list[CalibrationBin] = []
    for b in range(bins):
        part = order[len(order) * b // bins : len(order) * (b + 1) // bins]
        if part:
            n = len(part)
            out.append(
                CalibrationBin(n, sum(probabilities[i] for i in part) / n, sum(labels[i] for i in part) / n)
            )
    return out


# ------------------------------------------------------------------------------------ training


def _binary(feats: Sequence[str]) -> Features:
    return [(f, 1.0) for f in feats]


def _window(
    data: AppointmentData, facts: Sequence[AppointmentFacts], keep: Callable[[date], bool]
) -> tuple[list[AppointmentFacts], list[int]]:
    chosen = [(f, int(a.no_show)) for a, f in zip(data.appointments, facts, strict=True) if keep(a.day)]
    return [f for f, _ in chosen], [y for _, y in chosen]


def _check_outcomes(labels: Sequence[int], what: str) -> None:
    if not labels:
        raise RiskDataError(f"no appointments {what}")
    if sum(labels) in (0, len(labels)):
        raise RiskDataError(f"the appointments {what} all have the same outcome; nothing to learn or measure")


def train(data: AppointmentData, until: date, *, calibration: str = CALIBRATION) -> RiskModel:
    """A calibrated model from every appointment on or before `until` (module docstring)."""
    facts = facts_with_history(data.appointments)
    window, labels = _window(data, facts, lambda d: d <= until)
    _check_outcomes(labels, f"on or before {until.isoformat()}")
    days = sorted({f.starts_on for f in window})
    if len(days) < 2:
        raise RiskDataError(
            f"need appointments on two days or more up to {until.isoformat()} (one is held out)"
        )
    held_days = max(1, round(len(days) * CALIBRATION_SHARE))
    held_from = days[-held_days]
    rows = [_binary(risk_features(f)) for f in window]
    early = [i for i, f in enumerate(window) if f.starts_on < held_from]
    held = [i for i, f in enumerate(window) if f.starts_on >= held_from]
    _check_outcomes([labels[i] for i in held], f"from {held_from.isoformat()} (held out for calibration)")
    bias, weights = fit_logistic([rows[i] for i in early], [labels[i] for i in early])
    held_scores = [bias + sum(weights.get(f, 0.0) for f, _ in rows[i]) for i in held]
    held_labels = [labels[i] for i in held]
    fit = fit_platt if calibration == "platt" else fit_isotonic
    calibrator = fit(held_scores, held_labels)
    held_probs = [calibrator.apply(z) for z in held_scores]
    bias, weights = fit_logistic(rows, labels)
    vocabulary = sorted({f for row in rows for f, _ in row})
    record = TrainingRecord(
        source=data.source,
        data_sha256=data.sha256,
        window_from=days[0].isoformat(),
        window_until=until.isoformat(),
        rows=len(window),
        dropped=dict(data.dropped),
        calibration_from=held_from.isoformat(),
        metrics={
            "held_out_auc": auc(held_scores, held_labels),
            "held_out_brier": brier(held_probs, held_labels),
            "held_out_rows": float(len(held)),
        },
    )
    return RiskModel(
        version=f"noshow-{until.isoformat()}-{data.sha256[:8]}",
        bias=bias,
        weights={f: w for f, w in weights.items() if abs(w) >= 1e-6},
        calibration=calibrator,
        training=record,
        features=tuple(vocabulary),
    )


# ------------------------------------------------------------------------------------ backtest


@dataclass(frozen=True)
class Backtest:
    table: list[CalibrationBin]
    auc: float
    brier: float
    n_train: int
    n_test: int
    dropped: Mapping[str, int]
    label: str

    def report(self) -> str:
        dropped = ", ".join(f"{n} {reason}" for reason, n in sorted(self.dropped.items())) or "none"
        lines = [
            f"{self.label}; rows dropped: {dropped}",
            "calibration on the test appointments, by decile of predicted risk:",
            f"{'decile':>6} {'n':>7} {'predicted':>10} {'observed':>9}",
        ]
        lines += [
            f"{i:>6} {b.n:>7} {b.predicted:>10.4f} {b.observed:>9.4f}"
            for i, b in enumerate(self.table, start=1)
        ]
        lines.append(f"auc={self.auc:.4f} brier={self.brier:.4f} n_train={self.n_train} n_test={self.n_test}")
        return "\n".join(lines)


def _baseline_rows(facts: Sequence[AppointmentFacts]) -> list[Features]:
    # the plain baseline: the obvious columns as numbers, no bands, no history, no interactions
    return [
        [
            ("age", (f.age or 0) / 100),
            ("lead", (f.lead_days or 0) / 30),
            ("female", float(f.sex is Sex.FEMALE)),
            ("sms", float(f.reminder_sent)),
            ("public", float(f.coverage is CoverageKind.PUBLIC_ASSISTANCE)),
            ("htn", float(f.hypertension)),
            ("dm", float(f.diabetes)),
            ("alcohol", float(f.alcohol_use)),
            ("disability", float(f.disability_level)),
        ]
        for f in facts
    ]


def backtest(
    data: AppointmentData, train_until: date, test_from: date, *, baseline: bool = False
) -> Backtest:
    """Train on appointments on or before `train_until`, score those on or after `test_from`, each
    with only the history known before its day. `baseline`: the plain logistic regression instead."""
    if test_from <= train_until:
        raise RiskDataError("--test-from must be after --train-until")
    facts = facts_with_history(data.appointments)
    test, test_labels = _window(data, facts, lambda d: d >= test_from)
    _check_outcomes(test_labels, f"on or after {test_from.isoformat()}")
    if baseline:
        window, labels = _window(data, facts, lambda d: d <= train_until)
        _check_outcomes(labels, f"on or before {train_until.isoformat()}")
        bias, weights = fit_logistic(_baseline_rows(window), labels)
        probs = [sigmoid(bias + sum(weights[f] * v for f, v in row)) for row in _baseline_rows(test)]
        n_train, label = len(window), "plain logistic regression (baseline)"
    else:
        model = train(data, train_until)
        probs = [model.probability(f) for f in test]
        n_train, label = model.training.rows, f"model {model.version}"
    return Backtest(
        table=calibration_table(probs, test_labels),
        auc=auc(probs, test_labels),
        brier=brier(probs, test_labels),
        n_train=n_train,
        n_test=len(test),
        dropped=data.dropped,
        label=label,
    )
