"""DynamoReminderStore and DynamoWaitlistStore against moto: watched visits with the phone and email
encrypted, outcomes that only move forward, a send ledger that never lets a key go twice, and a
waitlist whose freed slots are offered one candidate at a time and filled once."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import boto3
import pytest
from careline.identity import SubjectKind
from careline.reminders.model import VisitOutcome, WatchedVisit
from careline.reminders.policy import SentMessage
from careline.store import KmsFieldCipher
from careline.store.reminders import DynamoReminderStore
from careline.store.verification import HmacSubjectKeys
from careline.store.waitlist import DynamoWaitlistStore
from careline.waitlist.model import FreedSlot, Offer, SlotState, WaitlistEntry
from pynamodb.exceptions import PutError

REGION = "us-west-2"
RETENTION_DAYS = 30
PHONE = "+15035550188"
OTHER_PHONE = "+15035550199"
EMAIL = "dana.whitlock@example.org"
START = datetime(2026, 3, 5, 16, 30, tzinfo=UTC)


@pytest.fixture
def cipher(aws):
    return KmsFieldCipher(aws.kms_key_arn)


@pytest.fixture
def keys(aws):
    return HmacSubjectKeys(aws.hash_secret_arn)


def _patient_key(keys):
    return lambda patient_id: keys.subject_key(SubjectKind.PATIENT, patient_id)


@pytest.fixture
def reminders(aws, cipher, keys):
    return DynamoReminderStore(aws.table_name, cipher, RETENTION_DAYS, _patient_key(keys), region=REGION)


@pytest.fixture
def waitlist(aws, cipher, keys):
    return DynamoWaitlistStore(aws.table_name, cipher, _patient_key(keys), region=REGION)


def _scan(table_name: str) -> list[dict]:
    return boto3.client("dynamodb", region_name=REGION).scan(TableName=table_name)["Items"]


def _visit(clock, appointment_id: str = "appt-1", **overrides) -> WatchedVisit:
    fields = {
        "appointment_id": appointment_id,
        "patient_id": "pat-1",
        "practitioner_id": "prac-7",
        "starts_at": START,
        "ends_at": START + timedelta(minutes=30),
        "booked_at": clock.now() - timedelta(days=10),
        "scored_at": clock.now(),
        "probability": 0.31,
        "tier": "high",
        "model_version": "risk-2026-02",
        "zone": "America/Los_Angeles",
        "phone": PHONE,
        "email": EMAIL,
        "consent": True,
        "preferred_channel": "email",
        "slot_id": "slot-9",
        "appointment_type": "follow-up",
        "location_id": "loc-1",
        **overrides,
    }
    return WatchedVisit(**fields)


# -- watched visits ----------------------------------------------------------------------------------


def test_a_watched_visit_round_trips_every_field(reminders, clock):
    visit = _visit(clock)
    reminders.save_visits([visit])
    assert reminders.visit("appt-1") == visit
    assert reminders.visit("appt-unknown") is None


def test_a_visit_without_contact_details_or_optional_fields_round_trips(reminders, clock):
    visit = _visit(
        clock,
        phone=None,
        email=None,
        consent=False,
        preferred_channel=None,
        slot_id=None,
        appointment_type=None,
        location_id=None,
    )
    reminders.save_visits([visit])
    assert reminders.visit("appt-1") == visit


def test_phone_and_email_are_encrypted_at_rest_and_no_key_holds_phi(aws, reminders, waitlist, clock, keys):
    reminders.save_visits([_visit(clock)])
    reminders.claim("pat-1", "reminder#appt-1#day_before", "sms", clock.now())
    waitlist.join(_entry(clock))

    items = _scan(aws.table_name)
    raw = json.dumps(items)
    for secret in (PHONE, PHONE[2:], "5550188", EMAIL, "dana.whitlock"):
        assert secret not in raw, f"plaintext PHI fragment found in the table: {secret!r}"
    patient_key = keys.subject_key(SubjectKind.PATIENT, "pat-1")
    assert {(i["pk"]["S"], i["sk"]["S"]) for i in items} == {
        ("VISIT#appt-1", "VISIT"),
        (f"LEDGER#{patient_key}", "SENT#reminder#appt-1#day_before"),
        ("WAITLIST", f"ENTRY#{patient_key}"),
    }
    visit_item = next(i for i in items if i["pk"]["S"] == "VISIT#appt-1")
    assert visit_item["gsi1pk"]["S"] == "VISITS"
    assert visit_item["gsi1sk"]["S"] == "2026-03-05T16:30:00.000000Z#appt-1"
    assert int(visit_item["expires_at"]["N"]) == int((START + timedelta(days=RETENTION_DAYS)).timestamp())


def test_a_ciphertext_moved_to_another_visit_does_not_decrypt(aws, reminders, clock):
    reminders.save_visits([_visit(clock, "appt-1"), _visit(clock, "appt-2", phone=OTHER_PHONE)])
    client = boto3.client("dynamodb", region_name=REGION)
    first = client.get_item(TableName=aws.table_name, Key={"pk": {"S": "VISIT#appt-1"}, "sk": {"S": "VISIT"}})
    client.update_item(
        TableName=aws.table_name,
        Key={"pk": {"S": "VISIT#appt-2"}, "sk": {"S": "VISIT"}},
        UpdateExpression="SET phone_enc = :p",
        ExpressionAttributeValues={":p": first["Item"]["phone_enc"]},
    )
    with pytest.raises(Exception, match=r"(?i)context|decrypt"):
        reminders.visit("appt-2")


def test_an_outcome_only_moves_forward(reminders, clock):
    reminders.save_visits([_visit(clock)])
    at = clock.now()

    reminders.record_outcome("appt-1", VisitOutcome.REMINDED, at)
    reminders.record_outcome("appt-1", VisitOutcome.CONFIRMED, at + timedelta(hours=1))
    assert reminders.visit("appt-1").outcome is VisitOutcome.CONFIRMED

    reminders.record_outcome("appt-1", VisitOutcome.CANCELLED, at + timedelta(hours=2))
    reminders.record_outcome("appt-1", VisitOutcome.CONFIRMED, at + timedelta(hours=3))
    reminders.record_outcome("appt-1", VisitOutcome.RESCHEDULED, at + timedelta(hours=3))  # same rank
    visit = reminders.visit("appt-1")
    assert (visit.outcome, visit.outcome_at) == (VisitOutcome.CANCELLED, at + timedelta(hours=2))

    reminders.record_outcome("appt-1", VisitOutcome.NO_SHOW, at + timedelta(hours=4))
    reminders.record_outcome("appt-1", VisitOutcome.ATTENDED, at + timedelta(hours=5))
    assert reminders.visit("appt-1").outcome is VisitOutcome.NO_SHOW


def test_an_outcome_or_cancellation_for_an_unwatched_visit_is_ignored(aws, reminders, clock):
    reminders.record_outcome("appt-unknown", VisitOutcome.CONFIRMED, clock.now())
    reminders.mark_cancelled("appt-unknown", clock.now())
    assert _scan(aws.table_name) == []


def test_scoring_again_keeps_the_cancellation_and_outcome_recorded_since(reminders, clock):
    reminders.save_visits([_visit(clock)])
    reminders.record_outcome("appt-1", VisitOutcome.CONFIRMED, clock.now())
    reminders.mark_cancelled("appt-1", clock.now())

    clock.advance(days=1)
    rescored = _visit(clock, probability=0.05, tier="low", phone=OTHER_PHONE, email=None)
    reminders.save_visits([rescored])

    stored = reminders.visit("appt-1")
    assert (stored.tier, stored.probability, stored.phone, stored.email) == ("low", 0.05, OTHER_PHONE, None)
    assert stored.scored_at == clock.now()
    assert stored.cancelled is True
    assert stored.outcome is VisitOutcome.CONFIRMED


def test_scoring_records_a_cancellation_it_saw_and_an_outcome_it_brings(reminders, clock):
    reminders.save_visits([_visit(clock, "appt-1"), _visit(clock, "appt-2")])
    reminders.save_visits(
        [
            _visit(clock, "appt-1", cancelled=True),
            _visit(clock, "appt-2", outcome=VisitOutcome.ATTENDED, outcome_at=clock.now()),
        ]
    )
    assert reminders.visit("appt-1").cancelled is True
    assert reminders.visit("appt-2").outcome is VisitOutcome.ATTENDED


def test_mark_cancelled_sets_the_flag(reminders, clock):
    reminders.save_visits([_visit(clock)])
    reminders.mark_cancelled("appt-1", clock.now())
    assert reminders.visit("appt-1").cancelled is True


def test_visits_starting_is_half_open_and_soonest_first(reminders, clock):
    end = START + timedelta(hours=2)
    visits = [
        _visit(clock, "before", starts_at=START - timedelta(microseconds=1)),
        _visit(clock, "at-start", starts_at=START),
        _visit(clock, "last", starts_at=end - timedelta(microseconds=1)),
        _visit(clock, "middle", starts_at=START + timedelta(hours=1), cancelled=True),
        _visit(clock, "at-end", starts_at=end),
    ]
    reminders.save_visits(visits)

    found = reminders.visits_starting(START, end)
    assert [v.appointment_id for v in found] == ["at-start", "middle", "last"]
    assert found[1].cancelled is True
    assert reminders.visits_starting(end, START) == []


def test_visits_starting_compares_instants_across_offsets(reminders, clock):
    pacific = START.astimezone(timezone(timedelta(hours=-8)))
    reminders.save_visits([_visit(clock, starts_at=pacific)])
    assert [v.appointment_id for v in reminders.visits_starting(START, START + timedelta(minutes=1))] == [
        "appt-1"
    ]


def test_outcomes_are_counted_by_tier(reminders, clock):
    reminders.save_visits(
        [
            _visit(clock, "h1", tier="high"),
            _visit(clock, "h2", tier="high"),
            _visit(clock, "h3", tier="high"),
            _visit(clock, "h4", tier="high"),
            _visit(clock, "l1", tier="low"),
            _visit(clock, "l2", tier="low"),
            _visit(clock, "later", tier="low", starts_at=START + timedelta(days=30)),
        ]
    )
    at = clock.now()
    reminders.record_outcome("h1", VisitOutcome.NO_SHOW, at)
    reminders.record_outcome("h2", VisitOutcome.CONFIRMED, at)
    reminders.mark_cancelled("h2", at)  # confirmed, then cancelled in the EHR: counts as cancelled
    reminders.record_outcome("h3", VisitOutcome.CONFIRMED, at)
    reminders.record_outcome("l1", VisitOutcome.ATTENDED, at)
    reminders.record_outcome("later", VisitOutcome.NO_SHOW, at)

    counts = reminders.outcomes_by_tier(START, START + timedelta(days=1))
    zeros = {outcome.value: 0 for outcome in VisitOutcome}
    assert counts == {
        "high": {**zeros, "total": 4, "no_show": 1, "cancelled": 1, "confirmed": 1},
        "low": {**zeros, "total": 2, "attended": 1},
    }


# -- the send ledger ---------------------------------------------------------------------------------


def test_a_ledger_key_is_claimed_once_until_released(reminders, clock):
    key = "reminder#appt-1#day_before"
    assert reminders.claim("pat-1", key, "sms", clock.now()) is True
    assert reminders.claim("pat-1", key, "sms", clock.now() + timedelta(minutes=5)) is False
    assert reminders.claim("pat-2", key, "sms", clock.now()) is True  # another patient's ledger

    reminders.release("pat-1", key)
    assert reminders.claim("pat-1", key, "email", clock.now()) is True
    assert reminders.ledger("pat-1", clock.now() - timedelta(days=1)) == [
        SentMessage(key, clock.now(), "email")
    ]


def test_the_ledger_returns_what_was_sent_since_oldest_first(aws, reminders, clock):
    now = clock.now()
    reminders.claim("pat-1", "reminder#appt-1#week_before", "sms", now - timedelta(days=6))
    reminders.claim("pat-1", "waitlist#slot-1", "sms", now - timedelta(days=1))
    reminders.claim("pat-1", "reminder#appt-1#call", "call_task", now)
    reminders.claim("pat-1", "reminder#appt-0#old", "email", now - timedelta(days=7, seconds=1))
    reminders.claim("pat-2", "reminder#appt-2#day_before", "sms", now)

    assert reminders.ledger("pat-1", now - timedelta(days=7)) == [
        SentMessage("reminder#appt-1#week_before", now - timedelta(days=6), "sms"),
        SentMessage("waitlist#slot-1", now - timedelta(days=1), "sms"),
        SentMessage("reminder#appt-1#call", now, "call_task"),
    ]
    assert reminders.ledger("pat-1", now) == [SentMessage("reminder#appt-1#call", now, "call_task")]
    assert reminders.ledger("pat-3", now - timedelta(days=7)) == []

    ledger_items = [i for i in _scan(aws.table_name) if i["pk"]["S"].startswith("LEDGER#")]
    for item in ledger_items:
        sent_at = datetime.fromisoformat(item["sent_at"]["S"])
        assert int(item["expires_at"]["N"]) == int((sent_at + timedelta(days=8)).timestamp())


def test_a_patient_key_that_is_not_a_keyed_hash_is_refused(aws, cipher, clock):
    store = DynamoReminderStore(aws.table_name, cipher, RETENTION_DAYS, lambda pid: pid, region=REGION)
    with pytest.raises(ValueError, match="keyed hash") as caught:
        store.claim("pat-1", "reminder#appt-1#day_before", "sms", clock.now())
    assert "pat-1" not in str(caught.value)
    assert _scan(aws.table_name) == []


def test_a_dynamodb_failure_is_raised_not_taken_for_an_answer(aws, cipher, clock, keys):
    store = DynamoReminderStore("careline-missing", cipher, RETENTION_DAYS, _patient_key(keys), region=REGION)
    with pytest.raises(PutError):
        store.claim("pat-1", "reminder#appt-1#day_before", "sms", clock.now())


# -- the waitlist ------------------------------------------------------------------------------------


def _entry(clock, patient_id: str = "pat-1", **overrides) -> WaitlistEntry:
    fields = {
        "patient_id": patient_id,
        "phone": PHONE,
        "appointment_id": f"appt-{patient_id}",
        "practitioner_id": "prac-7",
        "current_start": START + timedelta(days=20),
        "joined_at": clock.now(),
        "appointment_type": "follow-up",
        **overrides,
    }
    return WaitlistEntry(**fields)


def test_a_waitlist_entry_round_trips(waitlist, clock):
    entry = _entry(clock)
    waitlist.join(entry)
    assert waitlist.entry("pat-1") == entry
    assert waitlist.entry("pat-2") is None
    waitlist.join(_entry(clock, "pat-2", appointment_type=None))
    assert waitlist.entry("pat-2").appointment_type is None


def test_joining_again_replaces_the_entry_and_keeps_the_place(waitlist, clock):
    first_joined = clock.now()
    waitlist.join(_entry(clock, "pat-1"))
    clock.advance(minutes=10)
    waitlist.join(_entry(clock, "pat-2"))
    clock.advance(minutes=10)
    waitlist.join(_entry(clock, "pat-1", phone=OTHER_PHONE, appointment_id="appt-new"))

    entries = waitlist.entries()
    assert [e.patient_id for e in entries] == ["pat-1", "pat-2"]
    assert entries[0].joined_at == first_joined
    assert (entries[0].phone, entries[0].appointment_id) == (OTHER_PHONE, "appt-new")


def test_entries_are_longest_waiting_first_and_leaving_removes_one(waitlist, clock):
    for patient_id in ("pat-3", "pat-1", "pat-2"):
        waitlist.join(_entry(clock, patient_id))
        clock.advance(minutes=1)
    assert [e.patient_id for e in waitlist.entries()] == ["pat-3", "pat-1", "pat-2"]

    waitlist.leave("pat-1")
    waitlist.leave("pat-9")  # not waiting: nothing to do
    assert [e.patient_id for e in waitlist.entries()] == ["pat-3", "pat-2"]
    assert waitlist.entry("pat-1") is None


def test_an_entry_expires_when_the_visit_it_would_move_starts(aws, waitlist, clock):
    current_start = clock.now() + timedelta(days=3)
    waitlist.join(_entry(clock, current_start=current_start))
    (item,) = _scan(aws.table_name)
    assert int(item["expires_at"]["N"]) == int(current_start.timestamp())


def _slot(clock, start: datetime = START, **overrides) -> FreedSlot:
    fields = {
        "slot_key": FreedSlot.key_for("prac-7", start),
        "practitioner_id": "prac-7",
        "start": start,
        "end": start + timedelta(minutes=30),
        "freed_at": clock.now(),
        "appointment_type": "follow-up",
        "location_id": "loc-1",
        "source_appointment_id": "appt-cancelled",
        **overrides,
    }
    return FreedSlot(**fields)


def _offer(clock, patient_id: str) -> Offer:
    return Offer(patient_id, clock.now(), clock.now() + timedelta(minutes=30))


def test_a_freed_slot_round_trips_and_a_second_report_changes_nothing(aws, waitlist, clock):
    slot = _slot(clock)
    waitlist.slot_freed(slot)
    assert waitlist.slot(slot.slot_key) == slot

    waitlist.slot_freed(replace(slot, freed_at=clock.now() + timedelta(hours=1), location_id="loc-2"))
    assert waitlist.slot(slot.slot_key) == slot
    assert waitlist.open_slots() == [slot]
    assert [i["pk"]["S"] for i in _scan(aws.table_name)] == [f"SLOT#{slot.slot_key}"]
    assert waitlist.slot("prac-7@2030-01-01T00:00:00Z") is None


def test_offers_are_appended_one_at_a_time_and_a_stale_read_loses(waitlist, clock):
    waitlist.slot_freed(_slot(clock))
    key = FreedSlot.key_for("prac-7", START)
    read_by_one = waitlist.slot(key)
    read_by_other = waitlist.slot(key)

    assert waitlist.add_offer(read_by_one, _offer(clock, "pat-1")) is True
    assert waitlist.add_offer(read_by_other, _offer(clock, "pat-2")) is False

    clock.advance(minutes=30)
    current = waitlist.slot(key)
    assert [o.patient_id for o in current.offers] == ["pat-1"]
    assert waitlist.add_offer(current, _offer(clock, "pat-2")) is True
    offers = waitlist.slot(key).offers
    assert [o.patient_id for o in offers] == ["pat-1", "pat-2"]
    assert offers[1] == _offer(clock, "pat-2")
    assert waitlist.slot(key).current_offer == _offer(clock, "pat-2")


def test_a_slot_is_filled_once(waitlist, clock):
    slot = _slot(clock)
    waitlist.slot_freed(slot)
    assert waitlist.fill(slot.slot_key, "pat-1", clock.now()) is True
    assert waitlist.fill(slot.slot_key, "pat-2", clock.now()) is False
    assert waitlist.add_offer(waitlist.slot(slot.slot_key), _offer(clock, "pat-3")) is False
    stored = waitlist.slot(slot.slot_key)
    assert (stored.state, stored.filled_by) == (SlotState.FILLED, "pat-1")
    assert waitlist.fill("prac-7@2030-01-01T00:00:00Z", "pat-1", clock.now()) is False


def test_open_slots_are_soonest_first_without_filled_or_expired_ones(waitlist, clock):
    slots = [_slot(clock, START + timedelta(hours=h)) for h in (3, 1, 2, 4)]
    for slot in slots:
        waitlist.slot_freed(slot)
    waitlist.fill(slots[0].slot_key, "pat-1", clock.now())
    waitlist.expire(slots[3].slot_key, clock.now())
    waitlist.expire(slots[0].slot_key, clock.now())  # already filled: stays filled
    waitlist.expire("prac-7@2030-01-01T00:00:00Z", clock.now())  # unknown: nothing happens

    assert [s.start for s in waitlist.open_slots()] == [
        START + timedelta(hours=1),
        START + timedelta(hours=2),
    ]
    assert waitlist.slot(slots[0].slot_key).state is SlotState.FILLED
    assert waitlist.slot(slots[3].slot_key).state is SlotState.EXPIRED


def test_a_filled_slot_freed_by_another_appointment_is_open_again(waitlist, clock):
    slot = _slot(clock, source_appointment_id="appt-first")
    waitlist.slot_freed(slot)
    waitlist.add_offer(slot, _offer(clock, "pat-1"))
    waitlist.fill(slot.slot_key, "pat-1", clock.now())

    waitlist.slot_freed(slot)  # the first cancellation seen again: nothing changes
    assert waitlist.slot(slot.slot_key).state is SlotState.FILLED

    clock.advance(days=1)
    again = _slot(clock, source_appointment_id="appt-taken-from-waitlist")
    waitlist.slot_freed(again)  # whoever took it cancelled
    assert waitlist.slot(slot.slot_key) == again
    assert waitlist.open_slots() == [again]


def test_the_last_scoring_run_is_remembered(reminders: DynamoReminderStore) -> None:
    assert reminders.last_scoring() is None
    first = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    reminders.scoring_finished(first)
    reminders.scoring_finished(first + timedelta(days=1))
    assert reminders.last_scoring() == first + timedelta(days=1)
