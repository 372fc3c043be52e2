"""Backfilling a freed time: one waitlist candidate at a time, each holding it for the hold period."""

from __future__ import annotations

from datetime import datetime, timedelta

from careline.config import load_practice_config
from careline.conversation.model import ConversationContext
from careline.ehr.model import FreeSlot, Practitioner
from careline.reminders.conversation import ConversationScopes
from careline.reminders.outcomes import RecordedVisitChanges
from careline.reminders.policy import SentMessage
from careline.waitlist.backfill import WaitlistBackfill
from careline.waitlist.model import FreedSlot, SlotState, WaitlistEntry

from tests.unit.fakes import (
    SAMPLE_CONFIG,
    FakePartyKeys,
    FixedClock,
    InMemoryContextStore,
    InMemoryEhr,
    RecordingMessenger,
    local,
)
from tests.unit.reminder_fakes import InMemoryReminderStore, InMemoryWaitlistStore

NOW = local(2026, 6, 8, 10, 0)
FREED_AT = local(2026, 6, 9, 9, 0)
ANA, BEN, CAL = "+15035550121", "+15035550122", "+15035550123"


def entry(
    patient_id: str, phone: str, joined_minutes_ago: int, current: datetime, **kw: object
) -> WaitlistEntry:
    return WaitlistEntry(
        patient_id=patient_id,
        phone=phone,
        appointment_id=f"{patient_id}-visit",
        practitioner_id=str(kw.get("practitioner_id", "dr-chen")),
        current_start=current,
        joined_at=NOW - timedelta(minutes=joined_minutes_ago),
        appointment_type=kw.get("appointment_type"),  # type: ignore[arg-type]
    )


class Rig:
    def __init__(self, *entries: WaitlistEntry, slot_free: bool = True) -> None:
        self.config = load_practice_config(SAMPLE_CONFIG)
        self.clock = FixedClock(NOW)
        self.waitlist = InMemoryWaitlistStore()
        for e in entries:
            self.waitlist.join(e)
        self.ledger = InMemoryReminderStore()
        self.contexts = InMemoryContextStore()
        self.keys = FakePartyKeys()
        self.messenger = RecordingMessenger()
        self.ehr = InMemoryEhr(staff=[Practitioner("dr-chen", "Dr. Lily Chen")])
        if slot_free:
            self.ehr.slots.append(
                FreeSlot("slot-9", "dr-chen", FREED_AT, FREED_AT + timedelta(minutes=20), location_id=None)
            )
        self.slot = FreedSlot(
            slot_key=FreedSlot.key_for("dr-chen", FREED_AT),
            practitioner_id="dr-chen",
            start=FREED_AT,
            end=FREED_AT + timedelta(minutes=20),
            freed_at=NOW,
        )
        self.waitlist.slot_freed(self.slot)

    def run(self) -> dict[str, int]:
        backfill = WaitlistBackfill(
            config=self.config,
            waitlist=self.waitlist,
            ehr=self.ehr,
            ledger=self.ledger,
            scopes=ConversationScopes(self.contexts, self.keys),
            messenger=self.messenger,
            clock=self.clock,
        )
        return backfill.run().to_json()

    def offered_to(self) -> list[str]:
        return [o.patient_id for o in self.waitlist.slots[self.slot.slot_key].offers]

    def scope(self, phone: str) -> dict[str, str]:
        context = self.contexts.load(self.keys.party_for_phone(phone))
        assert context is not None
        scope: dict[str, str] = context.flow_state["waitlist_offer"]
        return scope


LATER = local(2026, 6, 20, 9, 0)


def test_the_longest_waiting_candidate_is_offered_first_and_holds_it() -> None:
    rig = Rig(entry("ben", BEN, 10, LATER), entry("ana", ANA, 60, LATER))
    assert rig.run()["offered"] == 1
    assert rig.offered_to() == ["ana"]
    ((to, text),) = rig.messenger.sent
    assert to == ANA
    assert "Tue Jun 9 at 9am" in text
    assert "YES" in text
    assert "STOP" in text
    scope = rig.scope(ANA)
    assert scope["slot_key"] == rig.slot.slot_key
    assert scope["appointment_id"] == "ana-visit"
    assert datetime.fromisoformat(scope["hold_until"]) == NOW + timedelta(minutes=30)

    rig.clock.advance(timedelta(minutes=20))
    assert rig.run()["waiting"] == 1  # still held by Ana
    assert len(rig.messenger.sent) == 1


def test_after_the_hold_the_next_candidate_is_offered_and_the_first_can_still_answer() -> None:
    rig = Rig(entry("ana", ANA, 60, LATER), entry("ben", BEN, 10, LATER))
    rig.run()
    rig.clock.advance(timedelta(minutes=31))
    assert rig.run()["offered"] == 1
    assert rig.offered_to() == ["ana", "ben"]
    assert "waitlist_offer" in rig.contexts.load(rig.keys.party_for_phone(ANA)).flow_state  # type: ignore[union-attr]


def test_only_candidates_whose_visit_is_later_with_the_same_provider_and_kind_are_offered() -> None:
    rig = Rig(
        entry("sooner", ANA, 90, local(2026, 6, 8, 15, 0)),  # already earlier than the freed time
        entry("other-dr", BEN, 80, LATER, practitioner_id="dr-okafor"),
        entry("physical", CAL, 70, LATER, appointment_type="physical"),
    )
    rig.waitlist.slots[rig.slot.slot_key] = FreedSlot(**{**rig.slot.__dict__, "appointment_type": "sick"})
    assert rig.run().get("no_candidate") == 1
    assert rig.messenger.sent == []


def test_an_opted_out_or_capped_candidate_is_passed_over() -> None:
    rig = Rig(entry("ana", ANA, 60, LATER), entry("ben", BEN, 30, LATER), entry("cal", CAL, 10, LATER))
    ana_party = rig.keys.party_for_phone(ANA)
    rig.contexts.contexts[ana_party] = ConversationContext(party_id=ana_party, phone=ANA, opted_out=True)
    # Ben had a reminder this morning: one automated message a day
    rig.ledger.sent["ben"] = {
        "reminder#b#48h": SentMessage("reminder#b#48h", NOW - timedelta(hours=1), "sms")
    }
    rig.run()
    assert rig.offered_to() == ["cal"]
    # and the offer counts toward Cal's caps like any automated message
    assert [m.key for m in rig.ledger.ledger("cal", NOW - timedelta(days=1))] == [
        f"waitlist#{rig.slot.slot_key}"
    ]


def test_no_offer_goes_out_in_quiet_hours() -> None:
    rig = Rig(entry("ana", ANA, 60, LATER))
    rig.clock.at = local(2026, 6, 7, 21, 30)
    assert rig.run().get("no_candidate") == 1
    rig.clock.at = local(2026, 6, 8, 8, 0)
    assert rig.run()["offered"] == 1


def test_a_time_given_away_in_the_ehr_or_too_close_is_let_go() -> None:
    rig = Rig(entry("ana", ANA, 60, LATER), slot_free=False)
    assert rig.run()["expired"] == 1
    assert rig.waitlist.slots[rig.slot.slot_key].state is SlotState.EXPIRED

    close = Rig(entry("ana", ANA, 60, LATER))
    close.clock.at = FREED_AT - timedelta(minutes=90)
    assert close.run()["expired"] == 1
    assert close.messenger.sent == []


def test_a_slot_stops_after_its_last_candidate_offer() -> None:
    rig = Rig(*(entry(f"p{i}", f"+150355502{i:02d}", 100 - i, LATER) for i in range(7)))
    for _ in range(6):
        rig.run()
        rig.clock.advance(timedelta(minutes=31))
    assert len(rig.offered_to()) == 5
    assert rig.waitlist.slots[rig.slot.slot_key].state is SlotState.EXPIRED


def test_a_cancelled_or_moved_visit_frees_its_time_and_records_the_outcome() -> None:
    from careline.ehr.model import AppointmentRecord, AppointmentStatus

    reminders, waitlist = InMemoryReminderStore(), InMemoryWaitlistStore()
    changes = RecordedVisitChanges(reminders, waitlist)
    old = AppointmentRecord(
        "a1", "p1", "dr-chen", FREED_AT, FREED_AT + timedelta(minutes=20), AppointmentStatus.BOOKED
    )
    new = AppointmentRecord(
        "a2", "p1", "dr-chen", LATER, LATER + timedelta(minutes=20), AppointmentStatus.BOOKED
    )
    changes.rescheduled(old, new, NOW)
    assert list(waitlist.slots) == [FreedSlot.key_for("dr-chen", FREED_AT)]
    past = AppointmentRecord("a0", "p1", "dr-chen", NOW - timedelta(hours=1), NOW, AppointmentStatus.BOOKED)
    changes.cancelled(past, NOW)  # a visit already begun frees nothing worth offering
    assert len(waitlist.slots) == 1
