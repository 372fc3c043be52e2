"""`DynamoAuditLog`: the agent panel's `AuditLog` port over the single table.

One item per read of a patient's context, partitioned by UTC day so a day's reads are one query:
pk `AUDIT#<yyyy-mm-dd>`, sk `<iso instant>#<audit id>`. Every attribute is plain (an audit record
holds no PHI: `careline.agents.audit`), and `expires_at` keeps it as long as the conversation
records it is about (`deployment.retention_days`).
"""

from __future__ import annotations

from datetime import UTC, date, timedelta
from typing import Any

from pynamodb.attributes import (
    ListAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.models import Model

from careline.agents.audit import AccessPurpose, AuditAction, AuditEntry, AuditOutcome
from careline.store.context_store import instant_key

AUDIT_PREFIX = "AUDIT#"


def audit_pk(day: date) -> str:
    return f"{AUDIT_PREFIX}{day.isoformat()}"


def audit_sk(entry: AuditEntry) -> str:
    return f"{instant_key(entry.at)}#{entry.audit_id}"


class AuditItem(Model):
    """One audit record (pk `AUDIT#<day>`, sk `<instant>#<audit id>`); no PHI in any attribute."""

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    audit_id = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    user_id = UnicodeAttribute()
    groups = ListAttribute[str](default=list)
    action = UnicodeAttribute()
    party_id = UnicodeAttribute()
    escalation_id = UnicodeAttribute()
    fields = ListAttribute[str](default=list)
    why = UnicodeAttribute()
    outcome = UnicodeAttribute()
    expires_at = TTLAttribute(null=True)


def _bound_model(table_name: str, region: str | None, host: str | None) -> type[AuditItem]:
    meta: dict[str, Any] = {"table_name": table_name, "region": region, "host": host}
    return type("AuditItem", (AuditItem,), {"Meta": type("Meta", (), meta), "__module__": __name__})


class DynamoAuditLog:
    """The `AuditLog` port: one conditional PutItem per record (never overwrites another)."""

    def __init__(
        self, table_name: str, retention_days: int, *, region: str | None = None, host: str | None = None
    ) -> None:
        self._model = _bound_model(table_name, region, host)
        self._retention = timedelta(days=retention_days)

    def record(self, entry: AuditEntry) -> None:
        """Write `entry`; raises if it could not be written (the read it records must not happen)."""
        day = entry.at.astimezone(UTC).date()
        item = self._model(
            pk=audit_pk(day),
            sk=audit_sk(entry),
            audit_id=entry.audit_id,
            at=entry.at,
            user_id=entry.user_id,
            groups=list(entry.groups),
            action=entry.action.value,
            party_id=entry.party_id,
            escalation_id=entry.escalation_id,
            fields=list(entry.fields),
            why=entry.why.value,
            outcome=entry.outcome.value,
            expires_at=entry.at + self._retention,
        )
        item.save(condition=self._model.sk.does_not_exist())

    def entries_on(self, day: date) -> list[AuditEntry]:
        """Every record of UTC day `day`, in time order (an access report; the tests read it too)."""
        return [
            AuditEntry(
                at=item.at.astimezone(UTC),
                user_id=item.user_id,
                groups=tuple(item.groups or ()),
                action=AuditAction(item.action),
                party_id=item.party_id,
                escalation_id=item.escalation_id,
                fields=tuple(item.fields or ()),
                why=AccessPurpose(item.why),
                outcome=AuditOutcome(item.outcome),
                audit_id=item.audit_id,
            )
            for item in self._model.query(audit_pk(day), consistent_read=True)
        ]
