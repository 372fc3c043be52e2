"""How appointment changes made in a conversation reach the reminder side and the waitlist.

The engine calls `VisitChanges` whenever a visit is confirmed, cancelled or moved, on any channel
and whether or not a reminder started it: the outcome is recorded on the watched visit (for the
no-show rate by tier) and a freed time is handed to the waitlist to backfill.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from careline.ehr.model import AppointmentRecord
from careline.reminders.model import VisitOutcome
from careline.reminders.ports import ReminderStore
from careline.waitlist.model import FreedSlot
from careline.waitlist.ports import WaitlistStore


class VisitChanges(Protocol):
    def confirmed(self, appointment: AppointmentRecord, at: datetime) -> None:
        """The patient confirmed the visit."""
        ...

    def cancelled(self, appointment: AppointmentRecord, at: datetime) -> None:
        """The visit was cancelled: its outcome, and its time offered to the waitlist."""
        ...

    def rescheduled(self, old: AppointmentRecord, new: AppointmentRecord, at: datetime) -> None:
        """The visit moved to `new`: the old one's outcome, and the old time freed for the waitlist."""
        ...


class RecordedVisitChanges:
    """`VisitChanges` over the reminder store and the waitlist: outcomes recorded on the watched
    visit, and every freed time (a cancellation, the old time of a move) offered to the waitlist.
    A visit the scoring job never watched (booked beyond the horizon, or since the last run) still
    frees its time."""

    def __init__(self, reminders: ReminderStore, waitlist: WaitlistStore | None = None) -> None:
        self._reminders = reminders
        self._waitlist = waitlist

    def confirmed(self, appointment: AppointmentRecord, at: datetime) -> None:
        self._reminders.record_outcome(appointment.id, VisitOutcome.CONFIRMED, at)

    def cancelled(self, appointment: AppointmentRecord, at: datetime) -> None:
        self._reminders.record_outcome(appointment.id, VisitOutcome.CANCELLED, at)
        self._reminders.mark_cancelled(appointment.id, at)
        self._free(appointment, at)

    def rescheduled(self, old: AppointmentRecord, new: AppointmentRecord, at: datetime) -> None:
        self._reminders.record_outcome(old.id, VisitOutcome.RESCHEDULED, at)
        self._reminders.mark_cancelled(old.id, at)
        self._free(old, at)

    def _free(self, appointment: AppointmentRecord, at: datetime) -> None:
        if self._waitlist is None or appointment.start <= at or not appointment.practitioner_id:
            return
        self._waitlist.slot_freed(
            FreedSlot.freed(
                appointment.practitioner_id,
                appointment.start,
                appointment.end,
                at,
                appointment_type=appointment.appointment_type,
                location_id=appointment.location_id,
                source_appointment_id=appointment.id,
            )
        )
