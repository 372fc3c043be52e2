"""pynamodb models of the single Careline table (see docs/architecture.md, "Table design").

Keys hold only keyed hashes, fixed labels and instants; every PHI value lives in an `*_enc`
attribute as a `FieldCipher` ciphertext. The table name is known only at run time, so
`bind_models` makes subclasses bound to one table (and endpoint) rather than mutating globals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
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


# -- reminders and the waitlist (careline.store.reminders, careline.store.waitlist) ---------------

VISIT_PREFIX = "VISIT#"
VISIT_SK = "VISIT"
VISITS_INDEX_PK = "VISITS"
LEDGER_PREFIX = "LEDGER#"
SENT_PREFIX = "SENT#"
WAITLIST_PK = "WAITLIST"
ENTRY_PREFIX = "ENTRY#"
SLOT_PREFIX = "SLOT#"
SLOT_SK = "SLOT"
OPEN_SLOTS_INDEX_PK = "SLOTS#open"


def visit_pk(appointment_id: str) -> str:
    return f"{VISIT_PREFIX}{appointment_id}"


def ledger_pk(patient_key: str) -> str:
    return f"{LEDGER_PREFIX}{patient_key}"


def slot_pk(slot_key: str) -> str:
    return f"{SLOT_PREFIX}{slot_key}"


class VisitStartIndex(GlobalSecondaryIndex["WatchedVisitItem"]):  # type: ignore[no-untyped-call]
    """GSI1: watched visits by start (`gsi1pk=VISITS`, `gsi1sk=<start instant>#<appointment id>`)."""

    class Meta:
        index_name = GSI1
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class WatchedVisitItem(Model):
    """A booked visit the reminder side watches (pk `VISIT#<appointment id>`, sk `VISIT`), as the
    nightly job scored it, and how it ended. `phone_enc` and `email_enc` are PHI."""

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=VISIT_SK)
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    by_start = VisitStartIndex()
    appointment_id = UnicodeAttribute()
    patient_id = UnicodeAttribute()
    practitioner_id = UnicodeAttribute()
    starts_at = UTCDateTimeAttribute()
    ends_at = UTCDateTimeAttribute()
    booked_at = UTCDateTimeAttribute()
    scored_at = UTCDateTimeAttribute()
    probability = NumberAttribute()
    tier = UnicodeAttribute()
    model_version = UnicodeAttribute()
    zone = UnicodeAttribute()
    phone_enc = UnicodeAttribute(null=True)
    email_enc = UnicodeAttribute(null=True)
    call_phone_enc = UnicodeAttribute(null=True)
    consent = BooleanAttribute(default=False)
    preferred_channel = UnicodeAttribute(null=True)
    slot_id = UnicodeAttribute(null=True)
    appointment_type = UnicodeAttribute(null=True)
    location_id = UnicodeAttribute(null=True)
    # what happened since scoring: kept when the visit is scored again
    cancelled = BooleanAttribute(default=False)
    cancelled_at = UTCDateTimeAttribute(null=True)
    outcome = UnicodeAttribute(null=True)
    outcome_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute(null=True)


class SentItem(Model):
    """One entry of a patient's automated-message ledger (pk `LEDGER#<keyed hash of the patient
    id>`, sk `SENT#<idempotency key>`): when and how it went. No PHI; kept 8 days."""

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    sent_at = UnicodeAttribute()  # a fixed-width UTC instant (`instant_key`), compared as text
    channel = UnicodeAttribute()
    expires_at = TTLAttribute(null=True)


class ScoringRunItem(Model):
    """When the no-show scoring last finished (pk `SCORING`, sk `LAST`): the campaign scores first
    when it is stale. No PHI."""

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    finished_at = UTCDateTimeAttribute()


class WaitlistEntryItem(Model):
    """A patient on the waitlist (pk `WAITLIST`, sk `ENTRY#<keyed hash of the patient id>`);
    `phone_enc` is PHI. Expires when the visit they would move has started."""

    pk = UnicodeAttribute(hash_key=True, default=WAITLIST_PK)
    sk = UnicodeAttribute(range_key=True)
    patient_id = UnicodeAttribute()
    phone_enc = UnicodeAttribute()
    appointment_id = UnicodeAttribute()
    practitioner_id = UnicodeAttribute()
    current_start = UTCDateTimeAttribute()
    joined_at = UTCDateTimeAttribute()
    appointment_type = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)


class OfferMap(MapAttribute[str, Any]):
    """One offer of a freed slot to a waitlist candidate."""

    patient_id = UnicodeAttribute()
    offered_at = UTCDateTimeAttribute()
    hold_until = UTCDateTimeAttribute()


def offer_map(patient_id: str, offered_at: datetime, hold_until: datetime) -> OfferMap:
    """An `OfferMap` (pynamodb's MapAttribute constructor is untyped)."""
    return OfferMap(  # type: ignore[no-untyped-call]
        patient_id=patient_id, offered_at=offered_at, hold_until=hold_until
    )


class OpenSlotIndex(GlobalSecondaryIndex["FreedSlotItem"]):  # type: ignore[no-untyped-call]
    """GSI1: freed slots still open (`gsi1pk=SLOTS#open`, `gsi1sk=<start instant>#<slot key>`);
    the index keys are removed when the slot is filled or expires, so the index holds only open ones."""

    class Meta:
        index_name = GSI1
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class FreedSlotItem(Model):
    """A freed slot to backfill (pk `SLOT#<practitioner id>@<start>`, sk `SLOT`). `offer_count`
    guards appending offers (one candidate at a time); `state` guards filling it. No PHI."""

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=SLOT_SK)
    slot_key = UnicodeAttribute()
    practitioner_id = UnicodeAttribute()
    start = UTCDateTimeAttribute()
    end = UTCDateTimeAttribute()
    freed_at = UTCDateTimeAttribute()
    appointment_type = UnicodeAttribute(null=True)
    location_id = UnicodeAttribute(null=True)
    source_appointment_id = UnicodeAttribute(null=True)
    state = UnicodeAttribute()
    offers = ListAttribute[OfferMap](of=OfferMap, default=list)
    offer_count = NumberAttribute(default=0)
    filled_by = UnicodeAttribute(null=True)
    filled_at = UTCDateTimeAttribute(null=True)
    expired_at = UTCDateTimeAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    open_by_start = OpenSlotIndex()
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


@dataclass(frozen=True)
class ReminderModels:
    """The reminder and waitlist item models, bound to one table name, region and endpoint."""

    visit: type[WatchedVisitItem]
    sent: type[SentItem]
    scoring_run: type[ScoringRunItem]
    waitlist_entry: type[WaitlistEntryItem]
    slot: type[FreedSlotItem]


def bind_reminder_models(
    table_name: str, region: str | None = None, host: str | None = None
) -> ReminderModels:
    """Reminder and waitlist model classes for `table_name` (as `bind_models`)."""
    return ReminderModels(
        visit=_bound(WatchedVisitItem, table_name, region, host),
        sent=_bound(SentItem, table_name, region, host),
        scoring_run=_bound(ScoringRunItem, table_name, region, host),
        waitlist_entry=_bound(WaitlistEntryItem, table_name, region, host),
        slot=_bound(FreedSlotItem, table_name, region, host),
    )
