"""Reminders for a large practice's next two weeks: scoring and planning 100,000 appointments.

Setup (untimed): a no-show model is fitted with the training code (`careline_local.risk_training`)
on synthetic labelled visits, written as an artifact and loaded back as a Lambda would; 100,000
synthetic upcoming appointments are drawn from a seeded `random.Random` (ages, sexes, coverage,
conditions, prior visits and how they ended; booked before `NOW`, starting over the next 14 days in
the practice's clinic hours, across the 9 March DST change; patients in several US zones by address
and/or area code; some without consent, some opted out, some with a ledger of recent messages).

Timed, separately: scoring (facts -> features -> calibrated probability -> tier) and planning (the
patient's zone, the policy's plan from config/practice.yaml, and the text of each planned SMS). Then
the same two passes again under tracemalloc, for the peak they allocate with every result kept (a
traced pass runs slower, so throughput is from the untraced one). `max_rss_mb` is the process's
max RSS before tracing (inputs, model fitting and every result included), and again after it.
"""

from __future__ import annotations

import random
import resource
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from careline.config import PracticeConfig, WeeklyHours, load_practice_config
from careline.reminders import (
    ReminderAppointment,
    ReminderPlan,
    ReminderText,
    SentMessage,
    compose_reminder_sms,
    patient_zone,
    plan_reminders,
    tier_for,
)
from careline.reminders.timezones import AREA_CODE_STATES
from careline.risk import (
    AppointmentFacts,
    CoverageKind,
    Outcome,
    PriorAppointment,
    RiskModel,
    Sex,
    TrainingRecord,
    load,
)

ROOT = Path(__file__).resolve().parent.parent
APPOINTMENTS = 100_000
TRAINING_VISITS = 8_000
SEED = 20250303
NOW = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)  # Monday 7am in the practice's zone; DST starts 9 March
HORIZON_DAYS = 14
SLOT = timedelta(minutes=15)

# (state, weight): most patients near the practice, the rest across the country's zones, with the
# states a zone line crosses (FL, IN, KY, TN, TX) and the zones without DST (AZ, HI).
STATES = (
    ("OR", 30), ("WA", 12), ("CA", 10), ("ID", 3), ("NV", 2), ("AZ", 3), ("CO", 2), ("UT", 1),
    ("TX", 4), ("IL", 2), ("MN", 1), ("TN", 2), ("KY", 1), ("IN", 1), ("FL", 4), ("NY", 3),
    ("GA", 1), ("MA", 1), ("AK", 1), ("HI", 2),
)  # fmt: skip
CODES_BY_STATE: dict[str, list[str]] = {}
for _code, _state in sorted(AREA_CODE_STATES.items()):
    CODES_BY_STATE.setdefault(_state, []).append(_code)
ALL_CODES = sorted(AREA_CODE_STATES)


@dataclass(frozen=True)
class Visit:
    """One synthetic upcoming appointment: what scoring reads and what planning reads."""

    facts: AppointmentFacts
    appointment_id: str
    patient_id: str
    starts_at: datetime
    booked_at: datetime
    state: str | None
    phone: str | None
    consent: bool
    opted_out: bool
    preferred_channel: str | None
    ledger: tuple[SentMessage, ...]
    noshow_logit: float  # the synthetic truth, only for labelling the training visits


def _slot(rng: random.Random, day: date, hours: WeeklyHours, zone: ZoneInfo) -> datetime | None:
    interval = hours.for_weekday(day.weekday())
    if interval is None:
        return None
    opens = datetime.combine(day, interval.opens, tzinfo=zone)
    slots = int((datetime.combine(day, interval.closes, tzinfo=zone) - opens) / SLOT)  # last ends at close
    return opens + SLOT * rng.randrange(slots)


def _phone(rng: random.Random, state: str | None) -> str | None:
    if rng.random() < 0.05:
        return None
    if state is not None and rng.random() < 0.85:
        code = rng.choice(CODES_BY_STATE[state])
    else:
        code = rng.choice(ALL_CODES)  # a number kept from another state, or no address on file
    return f"+1{code}555{rng.randrange(10_000):04d}"


def _visit(rng: random.Random, i: int, now: datetime, config: PracticeConfig) -> Visit:
    practice_tz = config.practice.tz
    today = now.astimezone(practice_tz).date()
    while True:  # a clinic slot on an open day, after now
        starts_at = _slot(
            rng, today + timedelta(days=rng.randrange(HORIZON_DAYS)), config.business_hours, practice_tz
        )
        if starts_at is not None and starts_at > now + SLOT:
            break
    booked_at = now - timedelta(hours=min(rng.expovariate(1 / (24 * 12)), 24 * 120))
    start_day = starts_at.date()

    age = rng.choice(
        (rng.randrange(0, 18), rng.randrange(18, 45), rng.randrange(45, 65), rng.randrange(65, 98))
    )
    sex = rng.choices((Sex.FEMALE, Sex.MALE, Sex.OTHER, Sex.UNKNOWN), (55, 43, 1, 1))[0]
    public = rng.random() < 0.25
    propensity = rng.choices((0.05, 0.2, 0.45), (70, 20, 10))[0]
    prior = tuple(
        PriorAppointment(
            start_day - timedelta(days=rng.randrange(7, 720)),
            rng.choices(
                (Outcome.ATTENDED, Outcome.NO_SHOW, Outcome.CANCELLED), (1 - propensity, propensity, 0.12)
            )[0],
        )
        for _ in range(rng.choices(range(7), (25, 20, 18, 14, 10, 8, 5))[0])
    )

    appointment_id = f"apt{i:06d}"
    ledger: list[SentMessage] = []
    if rng.random() < 0.18:  # other automated messages in the last week (and a call task or two)
        for k in range(rng.randint(1, 3)):
            sent_at = now - timedelta(minutes=rng.randrange(30, 6 * 24 * 60))
            channel = rng.choices(("sms", "email", "call_task"), (70, 20, 10))[0]
            ledger.append(SentMessage(f"msg#{appointment_id}#{k}", sent_at, channel))  # type: ignore[arg-type]
    first_reminder = starts_at - timedelta(hours=72)
    reminded = booked_at < first_reminder < now and rng.random() < 0.6
    if reminded:  # a run before this one already sent the 72-hour reminder
        ledger.append(SentMessage(f"reminder#{appointment_id}#72h", first_reminder, "sms"))

    facts = AppointmentFacts(
        starts_on=start_day,
        booked_at=booked_at.astimezone(practice_tz),
        age=age if rng.random() > 0.01 else None,
        sex=sex,
        reminder_sent=reminded,
        coverage=CoverageKind.PUBLIC_ASSISTANCE if public else CoverageKind.OTHER,
        hypertension=rng.random() < 0.1 + age / 200,
        diabetes=rng.random() < 0.04 + age / 800,
        alcohol_use=rng.random() < 0.03,
        disability_level=rng.choices((0, 1, 2, 3), (92, 5, 2, 1))[0],
        starts_at=starts_at.timetz().replace(tzinfo=None),
        prior=prior,
    )
    lead = (start_day - booked_at.date()).days
    missed = sum(p.outcome is Outcome.NO_SHOW for p in prior)
    logit = (
        -2.4
        + (0.9 if lead > 14 else 0.5 if lead > 2 else -0.6 if lead == 0 else 0.0)
        + 0.8 * min(missed, 2)
        + (0.45 if 13 <= age <= 30 else -0.3 if age >= 65 else 0.0)
        + (0.35 if public else 0.0)
        + (-0.3 if reminded else 0.0)
        + (0.25 if starts_at.hour >= 16 else 0.0)
    )

    state = rng.choices(STATES, [w for _, w in STATES])[0][0] if rng.random() < 0.9 else None
    return Visit(
        facts=facts,
        appointment_id=appointment_id,
        patient_id=f"pat{i:06d}",
        starts_at=starts_at,
        booked_at=booked_at,
        state=state,
        phone=_phone(rng, state),
        consent=rng.random() < 0.92,
        opted_out=rng.random() < 0.03,
        preferred_channel=rng.choices((None, "sms", "email"), (70, 20, 10))[0],
        ledger=tuple(ledger),
        noshow_logit=logit,
    )


def _model(config: PracticeConfig) -> RiskModel:
    """Fitted as `careline risk train` fits (regression on the earlier visits, Platt calibration on
    the later quarter), on synthetic visits whose no-shows follow a known rule; saved and loaded."""
    from careline.risk import risk_features
    from careline.risk.model import sigmoid
    from careline_local.risk_training import auc, fit_logistic, fit_platt

    rng = random.Random(SEED + 1)
    visits = [
        _visit(rng, i, NOW - timedelta(days=7 * (i * 12 // TRAINING_VISITS) + 20), config)
        for i in range(TRAINING_VISITS)
    ]
    visits.sort(key=lambda v: v.starts_at)
    labels = [int(rng.random() < sigmoid(v.noshow_logit)) for v in visits]
    rows = [[(f, 1.0) for f in risk_features(v.facts)] for v in visits]
    held = len(visits) * 3 // 4
    bias, weights = fit_logistic(rows[:held], labels[:held])
    scores = [bias + sum(weights.get(f, 0.0) for f, _ in row) for row in rows[held:]]
    calibration = fit_platt(scores, labels[held:])
    record = TrainingRecord(
        source="synthetic (benchmarks/reminders.py)",
        data_sha256="0" * 64,
        window_from=visits[0].facts.starts_on.isoformat(),
        window_until=visits[-1].facts.starts_on.isoformat(),
        rows=len(visits),
        dropped={},
        calibration_from=visits[held].facts.starts_on.isoformat(),
        metrics={"held_out_auc": auc(scores, labels[held:]), "held_out_rows": float(len(scores))},
    )
    fitted = RiskModel("noshow-synthetic", bias, weights, calibration, record, tuple(sorted(weights)))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.json"
        path.write_text(fitted.to_json(), encoding="utf-8")
        return load(path)


def _score(model: RiskModel, config: PracticeConfig, visits: Sequence[Visit]) -> list[tuple[float, str]]:
    policy = config.reminders
    out = []
    for visit in visits:
        probability = model.probability(visit.facts)
        out.append((probability, tier_for(probability, policy).name))
    return out


def _plan(
    config: PracticeConfig, visits: Sequence[Visit], scored: Sequence[tuple[float, str]]
) -> list[tuple[ReminderPlan, list[ReminderText]]]:
    policy, name, practice_zone = config.reminders, config.practice.name, config.practice.timezone
    out = []
    for visit, (_, tier) in zip(visits, scored, strict=True):
        zone = patient_zone(state=visit.state, phone=visit.phone, practice_zone=practice_zone).zone
        appointment = ReminderAppointment(
            appointment_id=visit.appointment_id,
            patient_id=visit.patient_id,
            starts_at=visit.starts_at,
            booked_at=visit.booked_at,
            scored_at=NOW,
            tier=tier,
            consent=visit.consent,
            opted_out=visit.opted_out,
            preferred_channel=visit.preferred_channel,  # type: ignore[arg-type]
            zone=zone,
        )
        plan = plan_reminders(appointment, policy, visit.ledger, NOW)
        texts = [
            compose_reminder_sms(policy.wording, name, visit.starts_at, zone)
            for send in plan.sends
            if send.channel == "sms"
        ]
        out.append((plan, texts))
    return out


def _max_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux, bytes on macOS
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)


def _counts(counter: Counter[str]) -> str:
    return ",".join(f"{k}:{v}" for k, v in sorted(counter.items())) or "none"


def main() -> None:
    config = load_practice_config(ROOT / "config" / "practice.yaml")
    t_setup = time.perf_counter()
    model = _model(config)
    rng = random.Random(SEED)
    visits = [_visit(rng, i, NOW, config) for i in range(APPOINTMENTS)]
    setup_s = time.perf_counter() - t_setup

    t0 = time.perf_counter()
    scored = _score(model, config, visits)
    t1 = time.perf_counter()
    planned = _plan(config, visits, scored)
    t2 = time.perf_counter()

    tiers = Counter(tier for _, tier in scored)
    sends = [send for plan, _ in planned for send in plan.sends]
    skipped = Counter(skip.reason.value for plan, _ in planned for skip in plan.skipped)
    texts = [text for _, plan_texts in planned for text in plan_texts]
    print(
        f"setup appointments={APPOINTMENTS} training_visits={TRAINING_VISITS} seconds={setup_s:.1f} "
        f"model_features={len(model.weights)} held_out_auc={model.training.metrics['held_out_auc']:.3f}"
    )
    print(
        f"risk_scoring appointments={len(scored)} per_s={len(scored) / (t1 - t0):.0f} "
        f"seconds={t1 - t0:.2f} us_each={(t1 - t0) / len(scored) * 1e6:.1f} "
        f"mean_probability={sum(p for p, _ in scored) / len(scored):.3f} tiers={_counts(tiers)}"
    )
    print(
        f"reminder_planning appointments={len(planned)} planned_sends={len(sends)} "
        f"by_channel={_counts(Counter(s.channel for s in sends))} "
        f"skipped_by_reason={_counts(skipped)} sms_texts={len(texts)} "
        f"short_wording={sum(t.short for t in texts)} multi_segment={sum(t.segments > 1 for t in texts)} "
        f"per_s={len(planned) / (t2 - t1):.0f} seconds={t2 - t1:.2f} "
        f"us_each={(t2 - t1) / len(planned) * 1e6:.1f}"
    )
    rss_mb = _max_rss_mb()  # the process as it would run: inputs, model and every result held
    del scored, planned, sends, texts

    # the same two passes under tracemalloc (slower, hence after the timing), every result kept
    tracemalloc.start()
    traced_scored = _score(model, config, visits)
    score_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    _plan(config, visits, traced_scored)
    both_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(
        f"peak_memory_mb={both_peak / 2**20:.1f} scoring_only_mb={score_peak / 2**20:.1f} "
        f"max_rss_mb={rss_mb:.0f} max_rss_with_tracemalloc_mb={_max_rss_mb():.0f}"
    )
