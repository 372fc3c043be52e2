"""`DynamoWaitlistStore`: the `WaitlistStore` port (careline.waitlist.ports) over the single table.

Items (no PHI in any key; the phone encrypted, bound to its item and field):
- waitlist entry: pk `WAITLIST`, sk `ENTRY#<keyed hash of the patient id>`; the whole list is one
  query. `expires_at` is the start of the visit the patient would move: after it, waiting is moot
  (until DynamoDB removes it, such an entry is listed but fits no slot: none is earlier than it).
- freed slot: pk `SLOT#<practitioner id>@<start>`, sk `SLOT`; while open also GSI `gsi1`
  (`gsi1pk=SLOTS#open`, `gsi1sk=<start instant>#<slot key>`), removed when it is filled or
  expires, so the open slots are one index query. `expires_at` 30 days after it ends.

Every change of a slot is one conditional write: a freed slot is recorded once; an offer is
appended only while the slot is open and still holds as many offers as the caller read (one
candidate at a time, two offer runs cannot both offer it); it is filled only while open (the first
"yes" wins). DynamoDB's own failures surface as pynamodb's exceptions; only a failed condition is
an answer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.condition import Condition

from careline.observability import logger
from careline.store.context_store import instant_key
from careline.store.models import (
    ENTRY_PREFIX,
    OPEN_SLOTS_INDEX_PK,
    SLOT_SK,
    WAITLIST_PK,
    FreedSlotItem,
    WaitlistEntryItem,
    offer_map,
    slot_pk,
)
from careline.store.reminder_table import ReminderTableStore, condition_failed, item_field_context
from careline.waitlist.model import FreedSlot, Offer, SlotState, WaitlistEntry

# a freed slot (and who it was offered to) is kept a while after it ends, to see how backfill went
SLOT_KEPT = timedelta(days=30)


def open_slot_sort_key(start: datetime, slot_key: str) -> str:
    """`gsi1sk` of an open slot: its start (fixed-width UTC), then its key."""
    return f"{instant_key(start)}#{slot_key}"


class DynamoWaitlistStore(ReminderTableStore):
    """The `WaitlistStore` port over the single table.

    `patient_key` turns a patient id into its keyed hash (64 lowercase hex digits), the entry's sort
    key (the composition root passes the HMAC subject key of kind `patient`).
    """

    # -- the list ----------------------------------------------------------------------------------

    def join(self, entry: WaitlistEntry) -> None:
        """One UpdateItem: the entry's details replaced, `joined_at` kept if already waiting."""
        model = self._items.waitlist_entry
        sk = self._entry_sk(entry.patient_id)
        phone_enc = self._cipher.encrypt(entry.phone, item_field_context(WAITLIST_PK, sk, "phone"))
        model(pk=WAITLIST_PK, sk=sk).update(
            actions=[
                model.patient_id.set(entry.patient_id),
                model.phone_enc.set(phone_enc),
                model.appointment_id.set(entry.appointment_id),
                model.practitioner_id.set(entry.practitioner_id),
                model.current_start.set(entry.current_start),
                model.joined_at.set(model.joined_at | entry.joined_at),
                (
                    model.appointment_type.set(entry.appointment_type)
                    if entry.appointment_type is not None
                    else model.appointment_type.remove()
                ),
                model.expires_at.set(entry.current_start),
            ]
        )

    def leave(self, patient_id: str) -> None:
        self._items.waitlist_entry(pk=WAITLIST_PK, sk=self._entry_sk(patient_id)).delete()

    def entry(self, patient_id: str) -> WaitlistEntry | None:
        item = self._get(self._items.waitlist_entry, WAITLIST_PK, self._entry_sk(patient_id))
        return self._entry_from_item(item) if item is not None else None

    def entries(self) -> list[WaitlistEntry]:
        model = self._items.waitlist_entry
        items = model.query(WAITLIST_PK, model.sk.startswith(ENTRY_PREFIX), consistent_read=True)
        waiting = [self._entry_from_item(item) for item in items]
        return sorted(waiting, key=lambda e: (e.joined_at, e.patient_id))

    # -- freed slots -------------------------------------------------------------------------------

    def slot_freed(self, slot: FreedSlot) -> None:
        """One conditional PutItem: a slot already recorded is left as it is, unless it was filled or
        expired and is now freed by another appointment (whoever took it cancelled): then it is
        recorded afresh, open to the waitlist again."""
        model = self._items.slot
        condition: Condition = model.pk.does_not_exist()
        if slot.source_appointment_id is not None:
            freed_again = (model.state != SlotState.OPEN.value) & (
                model.source_appointment_id.does_not_exist()
                | (model.source_appointment_id != slot.source_appointment_id)
            )
            condition = condition | freed_again
        try:
            self._slot_item(slot).save(condition=condition)
        except PutError as exc:
            if not condition_failed(exc):
                raise
            logger.debug("freed slot already recorded", extra={"slot_key": slot.slot_key})

    def open_slots(self) -> list[FreedSlot]:
        """Open slots, soonest first (the index is eventually consistent: a slot filled a moment
        ago may still be listed, and every change to it is conditional on it being open)."""
        model = self._items.slot
        items = model.open_by_start.query(OPEN_SLOTS_INDEX_PK)
        return [self._slot_from_item(item) for item in items if item.state == SlotState.OPEN.value]

    def slot(self, slot_key: str) -> FreedSlot | None:
        item = self._get(self._items.slot, slot_pk(slot_key), SLOT_SK)
        return self._slot_from_item(item) if item is not None else None

    def add_offer(self, slot: FreedSlot, offer: Offer) -> bool:
        model = self._items.slot
        new = offer_map(offer.patient_id, offer.offered_at, offer.hold_until)
        condition = (model.state == SlotState.OPEN.value) & (model.offer_count == len(slot.offers))
        return self._update(
            slot.slot_key,
            [model.offers.set((model.offers | []).append([new])), model.offer_count.add(1)],
            condition,
        )

    def fill(self, slot_key: str, patient_id: str, at: datetime) -> bool:
        model = self._items.slot
        return self._update(
            slot_key,
            [
                model.state.set(SlotState.FILLED.value),
                model.filled_by.set(patient_id),
                model.filled_at.set(at),
                model.gsi1pk.remove(),
                model.gsi1sk.remove(),
            ],
            model.state == SlotState.OPEN.value,
        )

    def expire(self, slot_key: str, at: datetime) -> None:
        """The slot is no longer offered; one already filled or expired (or unknown) is left alone."""
        model = self._items.slot
        actions = [
            model.state.set(SlotState.EXPIRED.value),
            model.expired_at.set(at),
            model.gsi1pk.remove(),
            model.gsi1sk.remove(),
        ]
        if not self._update(slot_key, actions, model.state == SlotState.OPEN.value):
            logger.debug("slot not open, not expired", extra={"slot_key": slot_key})

    # -- items -------------------------------------------------------------------------------------

    def _entry_sk(self, patient_id: str) -> str:
        return f"{ENTRY_PREFIX}{self._key(patient_id)}"

    def _entry_from_item(self, item: WaitlistEntryItem) -> WaitlistEntry:
        phone = self._cipher.decrypt(item.phone_enc, item_field_context(item.pk, item.sk, "phone"))
        return WaitlistEntry(
            patient_id=item.patient_id,
            phone=str(phone),
            appointment_id=item.appointment_id,
            practitioner_id=item.practitioner_id,
            current_start=item.current_start,
            joined_at=item.joined_at,
            appointment_type=item.appointment_type,
        )

    def _update(self, slot_key: str, actions: list[Any], condition: Condition) -> bool:
        """One conditional UpdateItem on the slot; False when the condition failed (or no such slot)."""
        try:
            self._items.slot(pk=slot_pk(slot_key), sk=SLOT_SK).update(actions=actions, condition=condition)
        except UpdateError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def _slot_item(self, slot: FreedSlot) -> FreedSlotItem:
        is_open = slot.state is SlotState.OPEN
        return self._items.slot(
            pk=slot_pk(slot.slot_key),
            sk=SLOT_SK,
            slot_key=slot.slot_key,
            practitioner_id=slot.practitioner_id,
            start=slot.start,
            end=slot.end,
            freed_at=slot.freed_at,
            appointment_type=slot.appointment_type,
            location_id=slot.location_id,
            source_appointment_id=slot.source_appointment_id,
            state=slot.state.value,
            offers=[offer_map(o.patient_id, o.offered_at, o.hold_until) for o in slot.offers],
            offer_count=len(slot.offers),
            filled_by=slot.filled_by,
            gsi1pk=OPEN_SLOTS_INDEX_PK if is_open else None,
            gsi1sk=open_slot_sort_key(slot.start, slot.slot_key) if is_open else None,
            expires_at=slot.end + SLOT_KEPT,
        )

    @staticmethod
    def _slot_from_item(item: FreedSlotItem) -> FreedSlot:
        return FreedSlot(
            slot_key=item.slot_key,
            practitioner_id=item.practitioner_id,
            start=item.start,
            end=item.end,
            freed_at=item.freed_at,
            appointment_type=item.appointment_type,
            location_id=item.location_id,
            source_appointment_id=item.source_appointment_id,
            state=SlotState(item.state),
            offers=tuple(
                Offer(patient_id=o.patient_id, offered_at=o.offered_at, hold_until=o.hold_until)
                for o in item.offers or []
            ),
            filled_by=item.filled_by,
        )
