"""`InMemoryVerificationLedger`: the `VerificationLedger` port in a dict (unit tests, local tools)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class RecordedFailure:
    at: datetime
    counterpart: str | None
    attempt_id: str | None


@dataclass
class InMemoryVerificationLedger:
    """Keeps every failure; windows are applied on read, as the DynamoDB ledger's queries do."""

    failures: dict[str, list[RecordedFailure]] = field(default_factory=dict)

    def record_failure(
        self,
        subject_key: str,
        at: datetime,
        *,
        counterpart: str | None = None,
        attempt_id: str | None = None,
    ) -> None:
        if at.tzinfo is None:
            raise ValueError("naive datetime: the ledger records timezone-aware instants only")
        recorded = self.failures.setdefault(subject_key, [])
        if attempt_id is not None and any(r.attempt_id == attempt_id and r.at == at for r in recorded):
            return
        recorded.append(RecordedFailure(at, counterpart, attempt_id))

    def failures_since(self, subject_key: str, since: datetime) -> int:
        return sum(1 for r in self.failures.get(subject_key, []) if r.at >= since)

    def counterparts_since(self, subject_key: str, since: datetime) -> dict[str, int]:
        return dict(
            Counter(
                r.counterpart
                for r in self.failures.get(subject_key, [])
                if r.at >= since and r.counterpart is not None
            )
        )
