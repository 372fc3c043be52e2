"""Ports of the waitlist: where entries and freed slots live. Nothing here imports AWS."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from careline.waitlist.model import FreedSlot, Offer, WaitlistEntry


class WaitlistStore(Protocol):
    def join(self, entry: WaitlistEntry) -> None:
        """Put the patient on the list (again: their entry is replaced, their place kept)."""
        ...

    def leave(self, patient_id: str) -> None: ...

    def entry(self, patient_id: str) -> WaitlistEntry | None: ...

    def entries(self) -> list[WaitlistEntry]:
        """Everyone waiting, longest-waiting first."""
        ...

    def slot_freed(self, slot: FreedSlot) -> None:
        """Record a freed slot to backfill (a second report of the same slot changes nothing)."""
        ...

    def open_slots(self) -> list[FreedSlot]: ...

    def slot(self, slot_key: str) -> FreedSlot | None: ...

    def add_offer(self, slot: FreedSlot, offer: Offer) -> bool:
        """Append the offer if the slot is unchanged since read (conditional write). False: it moved."""
        ...

    def fill(self, slot_key: str, patient_id: str, at: datetime) -> bool:
        """Mark the slot taken by the patient; False if it was already filled or expired."""
        ...

    def expire(self, slot_key: str, at: datetime) -> None: ...
