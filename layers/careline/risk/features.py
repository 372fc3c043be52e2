"""The no-show risk model's features: ONE function, used in training and at scoring time.

Every feature is a name (one-hot over bands); the model holds a weight per name. Bands keep the
model a plain logistic regression while letting lead time and age bend the risk as they do (a
same-day visit is rarely missed; a visit booked a month ahead often is).

- `age:`, `sex:`, `coverage:`, `htn`, `dm`, `alcohol`, `disability:` (0, 1, 2+);
- `lead:` days from booking to the visit (0, 1, 2, 3-4, 5-7, 8-14, 15-30, 31-60, 61+);
- `dow:` the visit's weekday; `hour:` its local start hour band, only when the record has one (the
  training CSV has none, so a model trained on it has no hour weights and the feature adds nothing);
- `sms:` whether a reminder was already sent;
- history, from the patient's appointments on days BEFORE the visit's day only (never later ones,
  never the same day's): `prior:` count, `prior_noshow:` count, `noshow_share:` band,
  `last:` outcome, `since_noshow:` and `since_visit:` day bands, `prior_cancel:`;
- interactions (`a|b`): age and lead, reminder and lead, coverage and age, past no-shows and lead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from careline.risk.facts import AppointmentFacts, Outcome

_AGE_BANDS: Final = (
    (0, "0"),
    (5, "1-5"),
    (12, "6-12"),
    (17, "13-17"),
    (24, "18-24"),
    (34, "25-34"),
    (44, "35-44"),
    (54, "45-54"),
    (64, "55-64"),
    (74, "65-74"),
    (84, "75-84"),
    (10**6, "85+"),
)
_AGE_GROUPS: Final = ((12, "child"), (24, "young"), (44, "adult"), (64, "middle"), (10**6, "older"))
_LEAD_BANDS: Final = (
    (0, "0"),
    (1, "1"),
    (2, "2"),
    (4, "3-4"),
    (7, "5-7"),
    (14, "8-14"),
    (30, "15-30"),
    (60, "31-60"),
    (10**6, "61+"),
)
_LEAD_GROUPS: Final = ((0, "same_day"), (2, "1-2"), (7, "3-7"), (30, "8-30"), (10**6, "31+"))
_SINCE_BANDS: Final = ((7, "1-7"), (14, "8-14"), (30, "15-30"), (90, "31-90"), (10**6, "91+"))
_HOUR_BANDS: Final = ((7, "early"), (11, "morning"), (13, "midday"), (16, "afternoon"), (23, "evening"))
_WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _band(value: int, bands: Sequence[tuple[int, str]]) -> str:
    return next(label for top, label in bands if value <= top)


def _count(value: int, top: int) -> str:
    return str(value) if value < top else f"{top}+"


def risk_features(facts: AppointmentFacts) -> list[str]:
    """The model's features for one appointment (see the module docstring)."""
    out = [
        f"sex:{facts.sex.value}",
        f"coverage:{facts.coverage.value}",
        f"dow:{_WEEKDAYS[facts.starts_on.weekday()]}",
    ]
    age_group = "unknown"
    if facts.age is not None and facts.age >= 0:
        out.append(f"age:{_band(facts.age, _AGE_BANDS)}")
        age_group = _band(facts.age, _AGE_GROUPS)
    lead_group = "unknown"
    lead = facts.lead_days
    if lead is not None and lead >= 0:
        out.append(f"lead:{_band(lead, _LEAD_BANDS)}")
        lead_group = _band(lead, _LEAD_GROUPS)
    if facts.starts_at is not None:
        out.append(f"hour:{_band(facts.starts_at.hour, _HOUR_BANDS)}")
    sms = "yes" if facts.reminder_sent else "no"
    out.append(f"sms:{sms}")
    if facts.hypertension:
        out.append("htn")
    if facts.diabetes:
        out.append("dm")
    if facts.alcohol_use:
        out.append("alcohol")
    out.append(f"disability:{_count(max(0, facts.disability_level), 2)}")

    # history: only what had happened before the visit's day
    before = sorted((p for p in facts.prior if p.day < facts.starts_on), key=lambda p: p.day)
    kept = [p for p in before if p.outcome is not Outcome.CANCELLED]
    missed = [p for p in kept if p.outcome is Outcome.NO_SHOW]
    out.append(f"prior:{_count(len(kept), 3)}")
    out.append(f"prior_noshow:{_count(len(missed), 2)}")
    out.append(f"prior_cancel:{_count(len(before) - len(kept), 1)}")
    if kept:
        share = len(missed) / len(kept)
        label = "none" if not missed else "all" if share == 1 else "half+" if share >= 0.5 else "some"
        out.append(f"noshow_share:{label}")
        out.append(f"last:{kept[-1].outcome.value}")
        out.append(f"since_visit:{_band((facts.starts_on - kept[-1].day).days, _SINCE_BANDS)}")
    if missed:
        out.append(f"since_noshow:{_band((facts.starts_on - missed[-1].day).days, _SINCE_BANDS)}")

    out.append(f"age_lead:{age_group}|{lead_group}")
    out.append(f"sms_lead:{sms}|{lead_group}")
    out.append(f"coverage_age:{facts.coverage.value}|{age_group}")
    out.append(f"noshow_lead:{_count(len(missed), 1)}|{lead_group}")
    return out
