"""The no-show rate by risk tier: did the visits the model called risky get missed more, and did
the extra attention help? Read from the outcomes the reminder side records on watched visits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from careline.reminders.model import VisitOutcome
from careline.reminders.ports import ReminderStore


@dataclass(frozen=True)
class TierOutcomes:
    tier: str
    visits: int
    counts: Mapping[str, int]

    @property
    def settled(self) -> int:
        """Visits whose day came and went with a known result (attended or missed)."""
        return self.counts.get(VisitOutcome.ATTENDED.value, 0) + self.counts.get(
            VisitOutcome.NO_SHOW.value, 0
        )

    @property
    def no_show_rate(self) -> float | None:
        """Missed visits over settled ones; None before any visit of the tier has settled."""
        if not self.settled:
            return None
        return self.counts.get(VisitOutcome.NO_SHOW.value, 0) / self.settled

    def to_json(self) -> dict[str, Any]:
        rate = self.no_show_rate
        return {
            "tier": self.tier,
            "visits": self.visits,
            **{o.value: self.counts.get(o.value, 0) for o in VisitOutcome},
            "no_show_rate": None if rate is None else round(rate, 4),
        }


def outcomes_by_tier(
    store: ReminderStore, start: datetime, end: datetime, tiers: list[str]
) -> list[TierOutcomes]:
    """Each tier's outcomes for the visits starting in [start, end), in the practice's tier order
    (a tier with no visits is listed with zeros)."""
    counts = store.outcomes_by_tier(start, end)
    ordered = [*tiers, *sorted(set(counts) - set(tiers))]
    return [
        TierOutcomes(tier, counts.get(tier, {}).get("total", 0), dict(counts.get(tier, {})))
        for tier in ordered
    ]
