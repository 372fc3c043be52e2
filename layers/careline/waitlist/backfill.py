"""Backfilling freed times from the waitlist: one candidate at a time, each with a hold.

`WaitlistBackfill.run` (the `waitlist_offers` job, every few minutes) looks at each open freed
slot: a slot about to start is let go; one whose current offer is still held waits; otherwise,
if the EHR still has the time free, the next best candidate gets an SMS offer ("reply YES to take
it") and holds it for `reminders.waitlist.hold_minutes`. The best candidate is the patient who has
waited longest among those whose own visit with the same provider (and of the same kind, when
both say) is later than the freed time, who were not offered it before, who have not opted out,
and for whom an offer now keeps the quiet hours and the daily and weekly caps shared with every
automated message.

Who gets the time is decided by the EHR when a patient says yes (the engine moves their visit into
the slot); a later yes finds it gone and is told so kindly. Offers after the hold ran out stay
answerable: the first yes wins.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from careline.config import PracticeConfig
from careline.conversation.dialogs.waitlist_offers import slot_line
from careline.conversation.model import Channel
from careline.ehr.model import SlotQuery
from careline.errors import SendRejected, SendUncertain
from careline.observability import logger
from careline.ports import Clock, Ehr, Messenger
from careline.practice.hours import format_time
from careline.reminders.policy import WEEK, next_allowed
from careline.reminders.ports import ReminderStore, ReplyScopes
from careline.reminders.timezones import patient_zone
from careline.waitlist.model import FreedSlot, Offer, WaitlistEntry
from careline.waitlist.ports import WaitlistStore

SCOPE_KEY: Final = "waitlist_offer"


@dataclass(frozen=True)
class BackfillReport:
    counts: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        base = {"offered": 0, "filled": 0, "expired": 0, "waiting": 0}
        return {**base, **dict(sorted(self.counts.items()))}


def offer_key(slot: FreedSlot) -> str:
    """The ledger key of one offer, in the patient's own ledger: one slot is offered to a patient once."""
    return f"waitlist#{slot.slot_key}"


class WaitlistBackfill:
    def __init__(
        self,
        *,
        config: PracticeConfig,
        waitlist: WaitlistStore,
        ehr: Ehr,
        ledger: ReminderStore,
        scopes: ReplyScopes,
        messenger: Messenger,
        clock: Clock,
    ) -> None:
        self._config = config
        self._policy = config.reminders
        self._waitlist = waitlist
        self._ehr = ehr
        self._ledger = ledger
        self._scopes = scopes
        self._messenger = messenger
        self._clock = clock

    def run(self) -> BackfillReport:
        now = self._clock.now().astimezone(UTC)
        counts: Counter[str] = Counter()
        entries = self._waitlist.entries()
        for slot in self._waitlist.open_slots():
            counts[self._advance(slot, entries, now)] += 1
        return BackfillReport(dict(counts))

    def _advance(self, slot: FreedSlot, entries: list[WaitlistEntry], now: datetime) -> str:
        rules = self._policy.waitlist
        if slot.start - now < timedelta(minutes=rules.min_lead_minutes):
            self._waitlist.expire(slot.slot_key, now)
            return "expired"
        offer = slot.current_offer
        if offer is not None and offer.hold_until > now:
            return "waiting"
        if len(slot.offers) >= rules.max_offers_per_slot:
            self._waitlist.expire(slot.slot_key, now)
            return "expired"
        if not self._still_free(slot):
            # someone booked it another way (the front desk, the EHR's own portal)
            self._waitlist.expire(slot.slot_key, now)
            return "expired"
        offered = {o.patient_id for o in slot.offers}
        for entry in self._candidates(slot, entries, offered):
            verdict = self._may_offer(entry, now)
            if verdict is not None:
                logger.info("waitlist candidate passed over", extra={"slot": slot.slot_key, "why": verdict})
                continue
            hold_until = now + timedelta(minutes=rules.hold_minutes)
            if not self._waitlist.add_offer(slot, Offer(entry.patient_id, now, hold_until)):
                return "raced"  # another run moved this slot on; the next run reads it afresh
            self._offer(slot, entry, now, hold_until)
            return "offered"
        return "no_candidate"

    def _still_free(self, slot: FreedSlot) -> bool:
        query = SlotQuery(
            earliest=slot.start,
            latest=slot.start + timedelta(minutes=1),
            practitioner_id=slot.practitioner_id,
            limit=5,
        )
        return any(free.start == slot.start for free in self._ehr.free_slots(query))

    def _candidates(
        self, slot: FreedSlot, entries: list[WaitlistEntry], offered: set[str]
    ) -> list[WaitlistEntry]:
        def fits(entry: WaitlistEntry) -> bool:
            same_kind = (
                slot.appointment_type is None
                or entry.appointment_type is None
                or entry.appointment_type == slot.appointment_type
            )
            return (
                entry.patient_id not in offered
                and entry.practitioner_id == slot.practitioner_id
                and entry.current_start > slot.start
                and same_kind
            )

        return sorted((e for e in entries if fits(e)), key=lambda e: (e.joined_at, e.patient_id))

    def _may_offer(self, entry: WaitlistEntry, now: datetime) -> str | None:
        """Why this candidate cannot be offered now, or None."""
        if self._scopes.is_opted_out(entry.phone):
            return "opted_out"
        zone = self._zone(entry)
        if next_allowed(now, self._policy.send_window, zone) != now:
            return "quiet_hours"
        sent = [m.sent_at for m in self._ledger.ledger(entry.patient_id, now - WEEK) if m.is_message]
        today = now.astimezone(zone).date()
        if sum(1 for s in sent if s.astimezone(zone).date() == today) >= self._policy.max_per_day:
            return "cap_day"
        if len(sent) >= self._policy.max_per_week:
            return "cap_week"
        return None

    def _zone(self, entry: WaitlistEntry) -> ZoneInfo:
        return patient_zone(state=None, phone=entry.phone, practice_zone=self._config.practice.timezone).zone

    def _offer(self, slot: FreedSlot, entry: WaitlistEntry, now: datetime, hold_until: datetime) -> None:
        key = offer_key(slot)
        if not self._ledger.claim(entry.patient_id, key, "sms", now):
            return  # already sent by a run that stopped before recording the offer
        zone = self._config.practice.tz
        line = slot_line(self._config, self._ehr, slot.practitioner_id, slot.start, slot.location_id, zone)
        text = self._config.catalog.render(
            "waitlist_offer",
            Channel.SMS,
            appointment=line,
            hold_until=format_time(hold_until.astimezone(zone).time()),
        )
        try:
            self._messenger.send_sms(entry.phone, text)
        except (SendUncertain, SendRejected) as exc:
            # kept as offered: the hold runs out and the next candidate is asked
            logger.error("waitlist offer not confirmed sent", extra={"slot": slot.slot_key, "code": exc.code})
            return
        except Exception:
            self._ledger.release(entry.patient_id, key)
            raise
        scope = {
            "slot_key": slot.slot_key,
            "patient_id": entry.patient_id,
            "practitioner_id": slot.practitioner_id,
            "start": slot.start.isoformat(),
            "end": slot.end.isoformat(),
            "appointment_type": slot.appointment_type,
            "appointment_id": entry.appointment_id,
            "hold_until": hold_until.isoformat(),
            "offered_at": now.isoformat(),
            "zone": zone.key,
        }
        try:
            self._scopes.open_scope(entry.phone, SCOPE_KEY, scope, text, now)
        except Exception:  # noqa: BLE001 - sent and recorded: failing now would not unsend it
            logger.exception(
                "waitlist offer sent but its reply scope was not saved", extra={"slot": slot.slot_key}
            )
