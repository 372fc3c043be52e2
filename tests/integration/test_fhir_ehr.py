"""`FhirEhr` against the real FHIR R4 dev server: every `Ehr` method, the booking race, undo,
outages, and HL7's official R4 example resources read back through the adapter."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from careline.config import load_practice_config
from careline.ehr import (
    AppointmentStatus,
    EhrUnavailable,
    FreeSlot,
    NotFound,
    SlotQuery,
    SlotTaken,
)
from careline.ehr.fhir import FhirEhr
from careline.ehr.resilience import CircuitState, ResiliencePolicy
from careline.ehr.smart import EhrConnection
from careline_local.fhir import (
    FhirClient,
    FhirDevServer,
    seed_demo_practice,
    seed_scenario,
)

ROOT = Path(__file__).resolve().parents[2]
HL7_EXAMPLES = ROOT / "tests" / "fixtures" / "fhir" / "hl7-r4-examples"
TZ = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 11, 25, 10, 30, tzinfo=TZ)

pytestmark = pytest.mark.xdist_group("fhir_dev_server")

SCENARIO: dict[str, Any] = {
    "practitioners": [{"id": "dr-chen", "name": "Lily Chen"}, {"id": "dr-okafor", "name": "Daniel Okafor"}],
    "slots": [
        {"practitioner": "dr-chen", "start": "2026-12-28T09:00:00-08:00", "minutes": 20},
        {"practitioner": "dr-chen", "start": "2026-12-28T09:20:00-08:00", "minutes": 20},
        {"practitioner": "dr-chen", "start": "2026-12-28T09:40:00-08:00", "minutes": 20},
        {"practitioner": "dr-okafor", "start": "2026-12-28T09:00:00-08:00", "minutes": 15},
    ],
    "patients": [
        {
            "id": "maria",
            "name": "Maria Lopez",
            "birthDate": "1984-03-14",
            "phone": "+15035550142",
            "appointments": [
                {"id": "a-booked", "practitioner": "dr-chen", "start": "2026-12-29T10:00:00-08:00"},
                {
                    "id": "a-cancelled",
                    "practitioner": "dr-chen",
                    "start": "2026-12-30T10:00:00-08:00",
                    "status": "cancelled",
                },
                {"id": "a-past", "practitioner": "dr-chen", "start": "2026-10-01T10:00:00-07:00"},
            ],
        },
        {"id": "jose", "name": "José Núñez", "birthDate": "1990-07-04", "phone": "+15035550143"},
    ],
}


@pytest.fixture
def fhir(server: FhirDevServer) -> Iterator[FhirClient]:
    with server.client() as client:
        client.reset()
        yield client


def _ehr(base_url: str, policy: ResiliencePolicy | None = None) -> FhirEhr:
    return FhirEhr.connect(
        EhrConnection(fhir_base_url=base_url, auth="none"), policy=policy, now=lambda: datetime.now(UTC)
    )


@pytest.fixture
def ehr(server: FhirDevServer) -> Iterator[FhirEhr]:
    adapter = _ehr(server.base_url)
    yield adapter
    adapter.transport.close()


@pytest.fixture
def scenario(fhir: FhirClient) -> FhirClient:
    seed_scenario(fhir, SCENARIO, TZ)
    return fhir


def _slot(ehr: FhirEhr, practitioner: str = "dr-chen", at: str = "2026-12-28T09:00:00-08:00") -> FreeSlot:
    start = datetime.fromisoformat(at)
    (slot,) = [
        s
        for s in ehr.free_slots(SlotQuery(start, start + timedelta(minutes=1), practitioner_id=practitioner))
        if s.start == start
    ]
    return slot


def _referencing(fhir: FhirClient, slot_id: str) -> list[dict[str, Any]]:
    return [
        a
        for a in fhir.search("Appointment")
        if any(s.get("reference") == f"Slot/{slot_id}" for s in a.get("slot", []))
    ]


def _set_patient_status(fhir: FhirClient, appointment_id: str, status: str) -> dict[str, Any]:
    """Store the appointment with its patient participant's status set to `status`; return what was
    stored (as read, before the server gave it a new version)."""
    stored = fhir.read("Appointment", appointment_id)
    for participant in stored["participant"]:
        if participant["actor"]["reference"].startswith("Patient/"):
            participant["status"] = status
    fhir.put(stored)
    return stored


def _participant_statuses(appointment: dict[str, Any]) -> dict[str, str]:
    return {p["actor"]["reference"]: p["status"] for p in appointment["participant"]}


# --- patients ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stored", ["+15035550150", "(503) 555-0150", "503-555-0150", "503.555.0150", "5035550150", "15035550150"]
)
def test_patient_is_found_by_e164_whatever_national_form_the_ehr_stored(
    fhir: FhirClient, ehr: FhirEhr, stored: str
) -> None:
    fhir.put(
        {
            "resourceType": "Patient",
            "id": "stored-form",
            "name": [{"family": "Form", "given": ["Stored"]}],
            "telecom": [{"system": "phone", "value": stored, "use": "mobile"}],
        }
    )
    (patient,) = ehr.find_patients_by_phone("+15035550150")
    assert patient.id == "stored-form"
    assert patient.phones == ("+15035550150",)
    assert ehr.find_patients_by_phone("+15035550151") == []


def test_phone_lookup_returns_every_patient_sharing_the_number_and_no_one_else(
    scenario: FhirClient, ehr: FhirEhr
) -> None:
    seed_scenario(
        scenario,
        {
            "patients": [
                {"id": "mateo", "name": "Mateo Lopez", "birthDate": "2015-02-01", "phone": "+15035550142"}
            ]
        },
        TZ,
    )
    found = ehr.find_patients_by_phone("+15035550142")
    assert sorted(p.id for p in found) == ["maria", "mateo"]
    maria = next(p for p in found if p.id == "maria")
    assert (maria.given_name, maria.family_name, maria.birth_date) == ("Maria", "Lopez", date(1984, 3, 14))
    assert ehr.find_patients_by_phone("not a number") == []


def test_name_and_birth_date_match_ignores_case_and_accents_but_not_the_date(
    scenario: FhirClient, ehr: FhirEhr
) -> None:
    assert [p.id for p in ehr.find_patients_by_name_and_birth_date("MARIA", "lopez", date(1984, 3, 14))] == [
        "maria"
    ]
    assert [p.id for p in ehr.find_patients_by_name_and_birth_date("jose", "NUNEZ", date(1990, 7, 4))] == [
        "jose"
    ]
    assert ehr.find_patients_by_name_and_birth_date("Maria", "Lopez", date(1984, 3, 15)) == []
    # Whole names, not prefixes: "Mar" is not Maria.
    assert ehr.find_patients_by_name_and_birth_date("Mar", "Lopez", date(1984, 3, 14)) == []


def test_practitioners_are_listed_with_their_names(scenario: FhirClient, ehr: FhirEhr) -> None:
    assert [(p.id, p.name) for p in ehr.practitioners()] == [
        ("dr-okafor", "Daniel Okafor"),
        ("dr-chen", "Lily Chen"),
    ]


# --- appointments and slots ----------------------------------------------------------------------


def test_upcoming_appointments_are_only_the_patients_booked_future_ones(
    scenario: FhirClient, ehr: FhirEhr
) -> None:
    (upcoming,) = ehr.upcoming_appointments("maria", NOW)
    assert upcoming.id == "a-booked"
    assert upcoming.status is AppointmentStatus.BOOKED
    assert upcoming.practitioner_id == "dr-chen"
    assert upcoming.start == datetime(2026, 12, 29, 10, 0, tzinfo=TZ)
    assert upcoming.slot_id == "dr-chen-20261229T1800Z"
    assert ehr.upcoming_appointments("maria", datetime(2026, 12, 29, 10, 1, tzinfo=TZ)) == []
    assert ehr.upcoming_appointments("jose", NOW) == []


def test_free_slots_of_the_demo_practice_by_practitioner_type_and_range(
    fhir: FhirClient, ehr: FhirEhr
) -> None:
    config = load_practice_config(ROOT / "config" / "practice.yaml")
    seed_demo_practice(fhir, config, NOW)
    monday = datetime(2026, 11, 30, 0, 0, tzinfo=TZ)
    query = SlotQuery(
        monday, monday + timedelta(days=1), practitioner_id="dr-chen", appointment_type="follow-up"
    )
    slots = ehr.free_slots(query)
    assert slots
    assert all(s.practitioner_id == "dr-chen" and s.appointment_type == "follow-up" for s in slots)
    assert all(monday <= s.start < monday + timedelta(days=1) for s in slots)
    assert [s.start for s in slots] == sorted(s.start for s in slots)
    assert all(s.location_id in {"hawthorne", "st-johns"} and s.version for s in slots)
    # Maria's follow-up on Monday holds its slot: it is not offered.
    (held,) = ehr.upcoming_appointments("maria-lopez", NOW)
    assert held.slot_id not in {s.id for s in slots}
    everyone = ehr.free_slots(SlotQuery(monday, monday + timedelta(days=1), limit=5))
    assert len(everyone) == 5
    assert [s.start for s in everyone] == sorted(s.start for s in everyone)


def test_booking_takes_the_slot_and_creates_the_appointment(scenario: FhirClient, ehr: FhirEhr) -> None:
    slot = _slot(ehr)
    booked = ehr.book("jose", slot, "follow-up")
    assert (booked.patient_id, booked.practitioner_id, booked.slot_id) == ("jose", "dr-chen", slot.id)
    assert (booked.start, booked.end, booked.status) == (slot.start, slot.end, AppointmentStatus.BOOKED)
    assert booked.appointment_type == "follow-up"
    assert scenario.read("Slot", slot.id)["status"] == "busy"
    stored = scenario.read("Appointment", booked.id)
    assert stored["status"] == "booked"
    assert ehr.upcoming_appointments("jose", NOW) == [
        booked.__class__(**{**booked.__dict__, "version": stored["meta"]["versionId"]})
    ]
    assert slot.id not in {s.id for s in ehr.free_slots(SlotQuery(NOW, NOW + timedelta(days=60)))}


def test_booking_a_slot_someone_already_took_is_refused_and_leaves_nothing_behind(
    scenario: FhirClient, ehr: FhirEhr
) -> None:
    slot = _slot(ehr)
    ehr.book("maria", slot)
    with pytest.raises(SlotTaken):
        ehr.book("jose", slot)
    assert [a["participant"][0]["actor"]["reference"] for a in _referencing(scenario, slot.id)] == [
        "Patient/maria"
    ]


def test_two_patients_racing_for_one_slot_exactly_one_wins(
    server: FhirDevServer, scenario: FhirClient
) -> None:
    adapters = [_ehr(server.base_url), _ehr(server.base_url)]
    for at in ("2026-12-28T09:00:00-08:00", "2026-12-28T09:20:00-08:00", "2026-12-28T09:40:00-08:00"):
        slot = _slot(adapters[0], at=at)
        start_line = threading.Barrier(2)
        outcomes: dict[str, object] = {}

        def race(
            adapter: FhirEhr,
            patient: str,
            slot: FreeSlot = slot,
            start_line: threading.Barrier = start_line,
            outcomes: dict[str, object] = outcomes,
        ) -> None:
            start_line.wait()
            try:
                outcomes[patient] = adapter.book(patient, slot)
            except SlotTaken as taken:
                outcomes[patient] = taken

        threads = [
            threading.Thread(target=race, args=(adapter, patient))
            for adapter, patient in zip(adapters, ("maria", "jose"), strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        kinds = sorted(type(o).__name__ for o in outcomes.values())
        assert kinds == ["AppointmentRecord", "SlotTaken"], at
        (winner,) = [p for p, o in outcomes.items() if not isinstance(o, SlotTaken)]
        # The loser's Appointment, which a non-rolling-back server keeps, was removed again.
        (held,) = _referencing(scenario, slot.id)
        assert held["participant"][0]["actor"]["reference"] == f"Patient/{winner}"
        assert scenario.read("Slot", slot.id)["status"] == "busy"


def test_cancel_records_the_reason_and_frees_the_slot(scenario: FhirClient, ehr: FhirEhr) -> None:
    (appointment,) = ehr.upcoming_appointments("maria", NOW)
    cancelled = ehr.cancel(appointment, "Feeling better")
    assert cancelled.status is AppointmentStatus.CANCELLED
    stored = scenario.read("Appointment", appointment.id)
    assert stored["status"] == "cancelled"
    assert stored["cancelationReason"]["text"] == "Feeling better"
    assert scenario.read("Slot", "dr-chen-20261229T1800Z")["status"] == "free"
    assert ehr.upcoming_appointments("maria", NOW) == []
    # Cancelling again changes nothing.
    assert ehr.cancel(appointment, "again").status is AppointmentStatus.CANCELLED
    assert scenario.read("Appointment", appointment.id)["cancelationReason"]["text"] == "Feeling better"
    with pytest.raises(NotFound):
        ehr.cancel(appointment.__class__(**{**appointment.__dict__, "id": "no-such"}), "x")


def test_confirm_marks_the_patient_participant_accepted_and_keeps_the_visit_booked(
    scenario: FhirClient, ehr: FhirEhr
) -> None:
    (appointment,) = ehr.upcoming_appointments("maria", NOW)
    # booked by the front desk, not yet answered by the patient
    _set_patient_status(scenario, appointment.id, "needs-action")
    before = scenario.read("Appointment", appointment.id)["meta"]["versionId"]

    confirmed = ehr.confirm(appointment)

    assert (confirmed.id, confirmed.status) == (appointment.id, AppointmentStatus.BOOKED)
    after = scenario.read("Appointment", appointment.id)
    assert after["status"] == "booked"
    statuses = _participant_statuses(after)
    assert statuses["Patient/maria"] == "accepted"
    assert statuses["Practitioner/dr-chen"] == "accepted"
    assert after["meta"]["versionId"] != before
    # confirming again changes nothing
    ehr.confirm(appointment)
    assert scenario.read("Appointment", appointment.id)["meta"]["versionId"] == after["meta"]["versionId"]


def test_confirm_refuses_a_cancelled_or_missing_appointment(scenario: FhirClient, ehr: FhirEhr) -> None:
    (appointment,) = ehr.upcoming_appointments("maria", NOW)
    ehr.cancel(appointment, "Feeling better")
    with pytest.raises(NotFound):
        ehr.confirm(appointment)
    with pytest.raises(NotFound):
        ehr.confirm(appointment.__class__(**{**appointment.__dict__, "id": "no-such"}))


def test_confirm_of_an_appointment_changed_meanwhile_reads_it_again(
    scenario: FhirClient, ehr: FhirEhr
) -> None:
    (appointment,) = ehr.upcoming_appointments("maria", NOW)
    stored = _set_patient_status(scenario, appointment.id, "tentative")
    stale_reads = iter([stored])
    original_read = ehr._read

    def read_once_stale(resource_type: str, resource_id: str) -> dict[str, Any]:
        stale = next(stale_reads, None)
        if stale is not None:
            # someone else updates it between our read and our write: the write's version is stale
            scenario.put({**stored, "comment": "Parking validated"})
            return stale
        return original_read(resource_type, resource_id)

    ehr._read = read_once_stale  # type: ignore[method-assign]
    ehr.confirm(appointment)
    after = scenario.read("Appointment", appointment.id)
    assert after["comment"] == "Parking validated"
    assert _participant_statuses(after)["Patient/maria"] == "accepted"


def test_reschedule_books_the_new_slot_and_cancels_the_old(scenario: FhirClient, ehr: FhirEhr) -> None:
    (old,) = ehr.upcoming_appointments("maria", NOW)
    slot = _slot(ehr)
    new = ehr.reschedule(old, slot)
    assert [a.id for a in ehr.upcoming_appointments("maria", NOW)] == [new.id]
    assert scenario.read("Appointment", old.id)["status"] == "cancelled"
    assert scenario.read("Slot", old.slot_id or "")["status"] == "free"
    assert scenario.read("Slot", slot.id)["status"] == "busy"


def test_reschedule_whose_cancel_fails_undoes_the_new_booking(scenario: FhirClient, ehr: FhirEhr) -> None:
    (old,) = ehr.upcoming_appointments("maria", NOW)
    slot = _slot(ehr)
    scenario.delete("Appointment", old.id)  # the old appointment vanished: cancelling it fails
    with pytest.raises(NotFound):
        ehr.reschedule(old, slot)
    (undone,) = [
        a
        for a in scenario.search("Appointment", {"patient": "Patient/maria"})
        if a["id"] not in {"a-cancelled", "a-past"}
    ]
    assert undone["status"] == "cancelled"
    assert undone["cancelationReason"]["text"].startswith("Booking undone")
    assert scenario.read("Slot", slot.id)["status"] == "free"
    assert ehr.upcoming_appointments("maria", NOW) == []


def test_communication_is_written_on_the_patient_once(scenario: FhirClient, ehr: FhirEhr) -> None:
    sent = datetime(2026, 11, 25, 10, 45, tzinfo=TZ)
    communication_id = ehr.record_communication("maria", "Rescheduled follow-up to Dec 28 9:00", "sms", sent)
    stored = scenario.read("Communication", communication_id)
    assert stored["status"] == "completed"
    assert stored["subject"] == {"reference": "Patient/maria"}
    assert datetime.fromisoformat(stored["sent"]) == sent
    assert stored["payload"] == [{"contentString": "Rescheduled follow-up to Dec 28 9:00"}]
    assert {c["code"] for c in stored["medium"][0]["coding"]} == {"WRITTEN", "sms"}
    assert (
        ehr.record_communication("maria", "Rescheduled follow-up to Dec 28 9:00", "sms", sent)
        == communication_id
    )
    assert len(scenario.search("Communication", {"subject": "Patient/maria"})) == 1


# --- outages -------------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_ehr_fails_fast_as_unavailable_then_the_circuit_opens() -> None:
    ehr = _ehr(f"http://127.0.0.1:{_closed_port()}/fhir/R4", ResiliencePolicy(failure_threshold=2))
    for _ in range(2):
        started = time.monotonic()
        with pytest.raises(EhrUnavailable):
            ehr.practitioners()
        assert time.monotonic() - started < 2.0
    assert ehr.transport.resilience.breaker.state is CircuitState.OPEN
    started = time.monotonic()
    with pytest.raises(EhrUnavailable, match="circuit is open"):
        ehr.book("maria", FreeSlot("s", "dr-chen", NOW, NOW + timedelta(minutes=20)))
    assert time.monotonic() - started < 0.05


def test_a_server_that_stopped_gives_unavailable_not_a_transport_error(scenario: FhirClient) -> None:
    with FhirDevServer() as doomed:
        ehr = _ehr(doomed.base_url)
        assert ehr.practitioners() == []
    started = time.monotonic()
    with pytest.raises(EhrUnavailable):
        ehr.find_patients_by_phone("+15035550142")
    assert time.monotonic() - started < 2.0


# --- HL7 official R4 examples --------------------------------------------------------------------


def _load_examples(fhir: FhirClient) -> dict[str, dict[str, Any]]:
    examples = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in HL7_EXAMPLES.glob("*.json")}
    fhir.batch_put(list(examples.values()))
    return examples


def test_hl7_example_patient_practitioner_and_appointment_read_back(fhir: FhirClient, ehr: FhirEhr) -> None:
    _load_examples(fhir)
    (peter,) = ehr.find_patients_by_name_and_birth_date("Peter", "Chalmers", date(1974, 12, 25))
    assert (peter.id, peter.given_name, peter.family_name) == ("example", "Peter", "Chalmers")
    # His usual given name works too; his maiden family name does not.
    assert [
        p.id for p in ehr.find_patients_by_name_and_birth_date("jim", "chalmers", date(1974, 12, 25))
    ] == ["example"]
    assert ehr.find_patients_by_name_and_birth_date("Peter", "Windsor", date(1974, 12, 25)) == []
    assert ("example", "Dr Adam Careful") in [(p.id, p.name) for p in ehr.practitioners()]
    (visit,) = ehr.upcoming_appointments("example", datetime(2013, 12, 1, tzinfo=UTC))
    assert (visit.id, visit.practitioner_id, visit.location_id) == ("example", "example", "1")
    assert visit.start == datetime(2013, 12, 10, 9, 0, tzinfo=UTC)
    assert visit.appointment_type == "FOLLOWUP"


def test_hl7_example_slots_are_offered_only_once_their_schedule_names_a_practitioner(
    fhir: FhirClient, ehr: FhirEhr
) -> None:
    examples = _load_examples(fhir)
    day = SlotQuery(datetime(2013, 12, 25, tzinfo=UTC), datetime(2013, 12, 26, tzinfo=UTC))
    # The official Schedule's only actor is a Location: nobody to book with.
    assert ehr.free_slots(day) == []
    schedule = examples["Schedule-example"]
    fhir.put({**schedule, "actor": [{"reference": "Practitioner/example"}, *schedule["actor"]]})
    (walk_in,) = ehr.free_slots(day)  # Slot/1 is busy
    assert (walk_in.id, walk_in.practitioner_id, walk_in.location_id) == ("example", "example", "1")
    assert walk_in.appointment_type == "WALKIN"
    assert walk_in.start == datetime(2013, 12, 25, 9, 15, tzinfo=UTC)
    # Slot.serviceType counts as its type as well.
    assert [s.id for s in ehr.free_slots(SlotQuery(day.earliest, day.latest, appointment_type="57"))] == [
        "example"
    ]
    booked = ehr.book("example", walk_in)
    assert booked.appointment_type == "WALKIN"
    assert fhir.read("Slot", "example")["status"] == "busy"


def test_a_slot_that_names_no_visit_type_is_offered_for_any_type(fhir: FhirClient, ehr: FhirEhr) -> None:
    seed_scenario(
        fhir,
        {
            "practitioners": [{"id": "dr-okafor", "name": "Dr. Ada Okafor"}],
            "slots": [{"practitioner": "dr-okafor", "start": "2026-12-03T09:00:00-08:00", "minutes": 20}],
        },
        "America/Los_Angeles",
    )
    day = datetime(2026, 12, 3, 0, 0, tzinfo=TZ)
    query = SlotQuery(day, day + timedelta(days=1), practitioner_id="dr-okafor", appointment_type="follow-up")
    [slot] = ehr.free_slots(query)
    assert slot.appointment_type is None


def test_doctors_are_named_as_the_front_desk_says_them(fhir: FhirClient, ehr: FhirEhr) -> None:
    seed_demo_practice(fhir, load_practice_config(ROOT / "config" / "practice.yaml"), NOW)
    names = {p.id: p.name for p in ehr.practitioners()}
    assert names["dr-chen"] == "Dr. Lily Chen"  # MD
    assert names["dr-okafor"] == "Dr. Daniel Okafor"  # DO
    assert names["np-reyes"] == "Ana Reyes"  # a nurse practitioner is not "Dr."
