"""A visit's reminder tier from its calibrated no-show probability (careline.risk)."""

from __future__ import annotations

import math

from careline.config import ReminderPolicy, ReminderTier


def tier_for(probability: float, policy: ReminderPolicy) -> ReminderTier:
    """The highest tier whose `from_probability` the probability reaches.

    The config guarantees the first tier starts at 0, so every probability in [0, 1] has one.
    """
    if math.isnan(probability) or not 0.0 <= probability <= 1.0:
        raise ValueError(f"a no-show probability is in [0, 1], got {probability!r}")
    chosen = policy.tiers[0]
    for tier in policy.tiers:
        if probability >= tier.from_probability:
            chosen = tier
    return chosen
