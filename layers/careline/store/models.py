"""pynamodb models of the single Careline table (see docs/architecture.md, "Table design").

Keys hold only keyed hashes, fixed labels and instants; every PHI value lives in an `*_enc`
attribute as a `FieldCipher` ciphertext. The table name is known only at run time, so
`bind_models` makes subclasses bound to one table (and endpoint) rather than mutating globals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

PARTY_PREFIX = "PARTY#"
CONTEXT_SK = "CONTEXT"
TIMELINE_PREFIX = "TL#"
ESCALATION_PREFIX = "ESC#"
QUEUE_PREFIX = "QUEUE#"
GSI1 = "gsi1"


PATIENT_FLOW_SK = "OPEN_FLOW"


def patient_pk(patient_key: str) -> str:
    return f"PATIENT#{patient_key}"


def party_pk(party_id: str) -> str:
    return f"{PARTY_PREFIX}{party_id}"


class QueueIndex(GlobalSecondaryIndex["EscalationItem"]):  # type: ignore[no-untyped-call]
    """GSI1: escalations by queue, then status and instant (the agent queue view)."""

    class Meta:
        index_name = GSI1
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class ContextItem(Model):
    """A party's conversation context (sk `CONTEXT`). `version` guards concurrent turns."""

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=CONTEXT_SK)
    phone_enc = UnicodeAttribute()
    flow_state_enc = UnicodeAttribute(null=True)
    opted_out = BooleanAttribute(default=False)
    opted_out_at = UTCDateTimeAttribute(null=True)
    active_flow = UnicodeAttribute(null=True)
    failed_understandings = NumberAttribute(default=0)
    escalation_open = BooleanAttribute(default=False)
    human_owner = UnicodeAttribute(null=True)
    last_activity = UTCDateTimeAttribute(null=True)
    version = NumberAttribute(default=0)
    last_inbound_id = UnicodeAttribute(null=True)
    pending_enc = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)


class TimelineItem(Model):
    """One timeline entry (sk `TL#<instant>#<seq>`); `text_enc` is the encrypted message text."""

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    at = UTCDateTimeAttribute()
    kind = UnicodeAttribute()
    channel = UnicodeAttribute()
    text_enc = UnicodeAttribute(null=True)
    event = UnicodeAttribute(null=True)
    data = JSONAttribute(null=True)
    expires_at = TTLAttribute(null=True)


class EscalationItem(Model):
    """An escalation (sk `ESC#<instant>#<id>`), indexed by queue in GSI1; `summary_enc` is PHI."""

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    escalation_id = UnicodeAttribute()
    party_id = UnicodeAttribute()
    reason = UnicodeAttribute()
    urgency = UnicodeAttribute()
    queue = UnicodeAttribute()
    status = UnicodeAttribute(default="open")
    channel = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    summary_enc = UnicodeAttribute()
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    by_queue = QueueIndex()
    # the escalation workflow (careline.store.escalations): who took it and when, the wait's task
    # token, and when the patient was told nobody got to them in time
    accepted_by = UnicodeAttribute(null=True)
    accepted_at = UTCDateTimeAttribute(null=True)
    time_to_accept_seconds = NumberAttribute(null=True)
    timed_out_at = UTCDateTimeAttribute(null=True)
    closed_at = UTCDateTimeAttribute(null=True)
    closed_by = UnicodeAttribute(null=True)
    task_token = UnicodeAttribute(null=True)
    patient_told_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute(null=True)


class PatientFlowItem(Model):
    """Where a verified patient's open flow lives (pk `PATIENT#<keyed hash of the patient id>`, sk
    `OPEN_FLOW`): the party whose context holds it, so a call from another number finds it once
    the caller is verified. Holds no PHI; kept a day."""

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=PATIENT_FLOW_SK)
    party_id = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute(null=True)


@dataclass(frozen=True)
class TableModels:
    """The item models, bound to one table name, region and endpoint."""

    context: type[ContextItem]
    timeline: type[TimelineItem]
    escalation: type[EscalationItem]
    patient_flow: type[PatientFlowItem]


_M = TypeVar("_M", bound=Model)


def _bound(base: type[_M], table_name: str, region: str | None, host: str | None) -> type[_M]:
    meta: dict[str, Any] = {"table_name": table_name, "region": region, "host": host}
    return type(base.__name__, (base,), {"Meta": type("Meta", (), meta), "__module__": __name__})


def bind_models(table_name: str, region: str | None = None, host: str | None = None) -> TableModels:
    """Model classes for `table_name` (`host` is the endpoint URL, e.g. moto on 127.0.0.1)."""
    return TableModels(
        context=_bound(ContextItem, table_name, region, host),
        timeline=_bound(TimelineItem, table_name, region, host),
        escalation=_bound(EscalationItem, table_name, region, host),
        patient_flow=_bound(PatientFlowItem, table_name, region, host),
    )
