"""The FHIR R4 dev server, for real: a Node process on loopback, seeded with the demo practice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from careline.config import PracticeConfig, load_practice_config
from careline_local.fhir import (
    FhirClient,
    FhirDevServer,
    FhirError,
    find_appointments,
    load_demo_patients,
    reset,
    seed_demo_practice,
    seed_scenario,
)
from careline_local.fhir.seed import SLOT_LOCATION_EXTENSION

ROOT = Path(__file__).resolve().parents[2]
TZ = ZoneInfo("America/Los_Angeles")
# A Wednesday mid-morning: the 30 days ahead cross Thanksgiving, the practice's day-after closure,
# weekends, and the Christmas Eve half day.
NOW = datetime(2026, 11, 25, 10, 30, tzinfo=TZ)

pytestmark = pytest.mark.xdist_group("fhir_dev_server")


@pytest.fixture(scope="module")
def config() -> PracticeConfig:
    return load_practice_config(ROOT / "config" / "practice.yaml")


@pytest.fixture
def client(server: FhirDevServer) -> Iterator[FhirClient]:
    with server.client() as fhir:
        fhir.reset()
        yield fhir


@pytest.fixture
def seeded(client: FhirClient, config: PracticeConfig) -> FhirClient:
    seed_demo_practice(client, config, NOW)
    return client


def _ids(resources: list[dict[str, object]]) -> list[str]:
    return sorted(str(r["id"]) for r in resources)


def _local(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(TZ)


# --- the server itself ---------------------------------------------------------------------------


def test_server_listens_on_loopback_only(server: FhirDevServer) -> None:
    assert server.base_url.startswith("http://127.0.0.1:")
    port = int(server.base_url.split(":")[2].split("/")[0])
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if state == "0A" and int(local.split(":")[1], 16) == port:  # 0A = LISTEN
                listening.append(local.split(":")[0])
    assert listening == ["0100007F"]  # 127.0.0.1, little-endian; nothing on 0.0.0.0 or ::


def test_metadata_is_an_r4_capability_statement(client: FhirClient) -> None:
    statement = client.metadata()
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"] == "4.0.1"
    types = {r["type"] for r in statement["rest"][0]["resource"]}
    assert {"Patient", "Practitioner", "Schedule", "Slot", "Appointment"} <= types


def test_put_with_client_id_creates_then_updates_and_delete_removes(client: FhirClient) -> None:
    response = client._http.request(
        "PUT",
        f"{client.base_url}/Practitioner/dr-test",
        body=b'{"resourceType": "Practitioner", "id": "dr-test", "active": true}',
        headers={"Content-Type": "application/fhir+json"},
    )
    assert response.status == 201
    updated = client.put({"resourceType": "Practitioner", "id": "dr-test", "active": False})
    assert updated["active"] is False
    assert client.read("Practitioner", "dr-test")["active"] is False
    client.delete("Practitioner", "dr-test")
    with pytest.raises(FhirError) as missing:
        client.read("Practitioner", "dr-test")
    assert missing.value.status == 404


def test_unknown_paths_and_bad_json_are_refused_with_an_operation_outcome(client: FhirClient) -> None:
    outside = client._http.request("GET", client.base_url.removesuffix("/fhir/R4") + "/admin")
    assert outside.status == 404
    bad = client._http.request(
        "POST",
        f"{client.base_url}/Patient",
        body=b"{not json",
        headers={"Content-Type": "application/fhir+json"},
    )
    assert bad.status == 400
    assert bad.json()["resourceType"] == "OperationOutcome"


def test_reset_empties_the_server(seeded: FhirClient) -> None:
    assert seeded.search("Patient")
    reset(seeded)
    for resource_type in ("Patient", "Practitioner", "Schedule", "Slot", "Appointment", "Location"):
        assert seeded.search_bundle(resource_type)["total"] == 0, resource_type


def test_transaction_bundle_creates_all_and_resolves_placeholder_references(client: FhirClient) -> None:
    patient_url = "urn:uuid:6f0e9a52-8a0c-4c39-9a1e-2f4a3d7b9c11"
    response = client.transaction(
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "fullUrl": patient_url,
                    "resource": {"resourceType": "Patient", "name": [{"family": "Testcase"}]},
                    "request": {"method": "POST", "url": "Patient"},
                },
                {
                    "resource": {"resourceType": "Practitioner", "id": "dr-tx", "active": True},
                    "request": {"method": "PUT", "url": "Practitioner/dr-tx"},
                },
                {
                    "resource": {
                        "resourceType": "Appointment",
                        "status": "booked",
                        "start": "2026-12-01T09:00:00-08:00",
                        "end": "2026-12-01T09:20:00-08:00",
                        "participant": [
                            {"actor": {"reference": patient_url}, "status": "accepted"},
                            {"actor": {"reference": "Practitioner/dr-tx"}, "status": "accepted"},
                        ],
                    },
                    "request": {"method": "POST", "url": "Appointment"},
                },
            ],
        }
    )
    assert response["type"] == "transaction-response"
    assert [e["response"]["status"][:1] for e in response["entry"]] == ["2", "2", "2"]
    patient_id = response["entry"][0]["resource"]["id"]
    (appointment,) = find_appointments(client, patient_id)
    assert appointment["practitioner"] == "dr-tx"
    assert appointment["start"] == datetime(2026, 12, 1, 9, 0, tzinfo=TZ)


# --- the demo practice ---------------------------------------------------------------------------


def test_seeded_patient_is_found_by_phone_and_no_patient_has_the_practice_number(seeded: FhirClient) -> None:
    assert _ids(seeded.search("Patient", {"telecom": "+15035550142"})) == ["maria-lopez"]
    assert _ids(seeded.search("Patient", {"phone": "+15035550142"})) == ["maria-lopez"]
    assert seeded.search("Patient", {"phone": "+15035550100"}) == []


def test_seeded_patient_is_found_by_name_and_birth_date(seeded: FhirClient) -> None:
    assert _ids(seeded.search("Patient", {"name": "lopez", "birthdate": "1984-03-14"})) == ["maria-lopez"]
    assert seeded.search("Patient", {"name": "lopez", "birthdate": "1984-03-15"}) == []


def test_demo_patients_are_fictional_555_01xx_numbers_distinct_from_the_practice(
    config: PracticeConfig,
) -> None:
    patients = load_demo_patients()
    assert 4 <= len(patients) <= 8
    practice_numbers = {config.practice.phone} | {loc.phone for loc in config.locations}
    practice_numbers |= {loc.fax for loc in config.locations if loc.fax}
    phones = [p.phone for p in patients]
    assert len(set(phones)) == len(phones)
    for phone in phones:
        assert phone[5:10] == "55501", "demo numbers stay in the 555-01xx fiction range"
        assert phone not in practice_numbers


def test_every_provider_has_a_practitioner_role_and_a_schedule(
    seeded: FhirClient, config: PracticeConfig
) -> None:
    assert _ids(seeded.search("Practitioner")) == sorted(p.id for p in config.providers)
    for provider in config.providers:
        (schedule,) = seeded.search("Schedule", {"actor": f"Practitioner/{provider.id}"})
        assert schedule["id"] == provider.id
        (role,) = seeded.search("PractitionerRole", {"practitioner": f"Practitioner/{provider.id}"})
        assert {loc["reference"] for loc in role["location"]} == {
            f"Location/{i}" for i in provider.location_ids
        }
    assert _ids(seeded.search("Location")) == sorted(loc.id for loc in config.locations)


def test_slot_search_by_schedule_date_range_and_status(seeded: FhirClient) -> None:
    slots = seeded.search(
        "Slot",
        {
            "schedule": "Schedule/dr-chen",
            "start": ["ge2026-11-30T00:00:00-08:00", "lt2026-12-01T00:00:00-08:00"],
            "status": "free",
            "_sort": "start",
        },
    )
    assert len(slots) > 10
    starts = [_local(s["start"]) for s in slots]
    assert starts == sorted(starts)
    assert all(s.date() == date(2026, 11, 30) for s in starts)
    assert all(s["schedule"]["reference"] == "Schedule/dr-chen" and s["status"] == "free" for s in slots)


def test_search_by_post_form_matches_search_by_get(seeded: FhirClient) -> None:
    form = b"schedule=Schedule/np-reyes&start=ge2026-12-01T00:00:00-08:00&start=lt2026-12-02T00:00:00-08:00"
    response = seeded._http.request(
        "POST",
        f"{seeded.base_url}/Slot/_search",
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 200
    by_get = seeded.search(
        "Slot",
        {
            "schedule": "Schedule/np-reyes",
            "start": ["ge2026-12-01T00:00:00-08:00", "lt2026-12-02T00:00:00-08:00"],
        },
    )
    assert by_get
    assert _ids([e["resource"] for e in response.json()["entry"]]) == _ids(by_get)


def test_seeded_slots_never_fall_on_a_closed_day_or_outside_hours(
    seeded: FhirClient, config: PracticeConfig
) -> None:
    slots = seeded.search("Slot")
    assert len(slots) > 500
    by_day: dict[date, list[datetime]] = {}
    for slot in slots:
        start, end = _local(slot["start"]), _local(slot["end"])
        location = config.location(slot["extension"][0]["valueReference"]["reference"].split("/")[1])
        assert slot["extension"][0]["url"] == SLOT_LOCATION_EXTENSION
        weekly = (location.hours or config.business_hours).for_weekday(start.weekday())
        assert weekly is not None, f"slot {slot['id']} on a day {location.id} is closed"
        assert start.date() == end.date()
        assert weekly.opens <= start.time(), slot["id"]
        assert end.time() <= weekly.closes, slot["id"]
        assert start >= NOW, "no slot is offered in the past"
        by_day.setdefault(start.date(), []).append(end)
    # Thanksgiving (a federal holiday) and the practice's own closure the day after.
    assert date(2026, 11, 26) not in by_day
    assert date(2026, 11, 27) not in by_day
    assert not any(day.weekday() >= 5 for day in by_day)
    # Christmas Eve is a half day: 08:00-12:00.
    assert by_day[date(2026, 12, 24)]
    assert max(by_day[date(2026, 12, 24)]).time() <= datetime(2026, 12, 24, 12, 0).time()
    assert max(by_day) == date(2026, 12, 24), "30 days from Nov 25 end on Dec 24"


def test_every_appointment_type_of_a_provider_is_offered_at_its_duration(
    seeded: FhirClient, config: PracticeConfig
) -> None:
    minutes = {t.id: t.minutes for t in config.appointment_types}
    for provider in config.providers:
        offered: set[str] = set()
        for slot in seeded.search("Slot", {"schedule": f"Schedule/{provider.id}"}):
            type_id = slot["appointmentType"]["coding"][0]["code"]
            offered.add(type_id)
            length = _local(slot["end"]) - _local(slot["start"])
            assert length == timedelta(minutes=minutes[type_id]), slot["id"]
        assert offered == set(provider.appointment_types)


def test_booked_demo_appointments_hold_busy_slots_and_cancelled_ones_hold_none(seeded: FhirClient) -> None:
    appointments = seeded.search("Appointment")
    booked = [a for a in appointments if a["status"] == "booked"]
    assert booked
    held = [a["slot"][0]["reference"].split("/")[1] for a in booked]
    assert len(set(held)) == len(held)
    for slot_id, appointment in zip(held, booked, strict=True):
        slot = seeded.read("Slot", slot_id)
        assert slot["status"] == "busy"
        assert (slot["start"], slot["end"]) == (appointment["start"], appointment["end"])
    assert len(seeded.search("Slot", {"status": "busy"})) == len(booked)
    assert all("slot" not in a for a in appointments if a["status"] in {"cancelled", "fulfilled", "noshow"})


def test_appointment_search_by_patient_actor_date_and_status(seeded: FhirClient) -> None:
    by_patient = seeded.search("Appointment", {"patient": "Patient/maria-lopez"})
    assert _ids(by_patient) == ["demo-maria-followup", "demo-maria-past"]
    by_actor = seeded.search("Appointment", {"actor": "Practitioner/dr-chen", "status": "booked"})
    assert by_actor
    assert {a["status"] for a in by_actor} == {"booked"}
    upcoming = seeded.search("Appointment", {"patient": "Patient/maria-lopez", "date": "ge2026-11-25"})
    assert _ids(upcoming) == ["demo-maria-followup"]


def test_find_appointments_returns_plain_dicts_soonest_first(seeded: FhirClient) -> None:
    found = find_appointments(seeded, "maria-lopez")
    assert [a["id"] for a in found] == ["demo-maria-past", "demo-maria-followup"]
    past, upcoming = found
    assert past["status"] == "fulfilled"
    assert past["start"] < NOW
    assert upcoming["status"] == "booked"
    assert upcoming["practitioner"] == "dr-chen"
    assert upcoming["end"] > upcoming["start"]
    # Asked for in 3 days (Saturday Nov 28): the visit lands on the next open day, Monday, at or
    # after the asked-for 10:00.
    local_start = upcoming["start"].astimezone(TZ)
    assert local_start.date() == date(2026, 11, 30)
    assert local_start.hour >= 10
    assert find_appointments(seeded, "nobody") == []


def test_seeding_twice_gives_the_same_practice(seeded: FhirClient, config: PracticeConfig) -> None:
    before = {t: seeded.search_bundle(t)["total"] for t in ("Patient", "Slot", "Appointment")}
    seed_demo_practice(seeded, config, NOW)
    after = {t: seeded.search_bundle(t)["total"] for t in ("Patient", "Slot", "Appointment")}
    assert before == after


# --- scenarios -----------------------------------------------------------------------------------

SCENARIO = yaml.safe_load(
    """
practitioners:
  - {id: dr-chen, name: "Dr. Lily Chen"}
slots:
  - {practitioner: dr-chen, start: 2026-12-28T09:00:00-08:00, minutes: 20}
  - {practitioner: dr-chen, start: 2026-12-29T10:00:00-08:00, minutes: 20}
patients:
  - id: maria
    name: Maria Lopez
    birthDate: 1984-03-14
    phone: "+15035550142"
    appointments:
      - {id: a1, practitioner: dr-chen, start: 2026-12-29T10:00:00-08:00, minutes: 20, status: booked}
      - {id: a0, practitioner: dr-chen, start: "2026-12-01T15:00:00", minutes: 20, status: cancelled}
"""
)


def test_seed_scenario_creates_resources_at_the_given_ids(client: FhirClient) -> None:
    seed_scenario(client, SCENARIO, "America/Los_Angeles")
    assert client.read("Practitioner", "dr-chen")["name"][0]["family"] == "Chen"
    assert client.read("Patient", "maria")["birthDate"] == "1984-03-14"
    assert _ids(client.search("Patient", {"phone": "+15035550142"})) == ["maria"]
    free = client.search("Slot", {"schedule": "Schedule/dr-chen", "status": "free"})
    assert [_local(s["start"]) for s in free] == [datetime(2026, 12, 28, 9, 0, tzinfo=TZ)]


def test_seed_scenario_booked_appointment_takes_its_slot_and_reads_back(client: FhirClient) -> None:
    seed_scenario(client, SCENARIO, ZoneInfo("America/Los_Angeles"))
    cancelled, booked = find_appointments(client, "maria")
    assert booked == {
        "id": "a1",
        "practitioner": "dr-chen",
        "location": None,
        "start": datetime(2026, 12, 29, 10, 0, tzinfo=TZ),
        "end": datetime(2026, 12, 29, 10, 20, tzinfo=TZ),
        "status": "booked",
        "slot": "dr-chen-20261229T1800Z",
    }
    assert client.read("Slot", "dr-chen-20261229T1800Z")["status"] == "busy"
    # A time without an offset is read in the scenario's timezone.
    assert cancelled["start"] == datetime(2026, 12, 1, 15, 0, tzinfo=TZ)
    assert cancelled["status"] == "cancelled"
    assert cancelled["slot"] is None


def test_seed_scenario_names_an_undeclared_practitioner(client: FhirClient) -> None:
    with pytest.raises(ValueError, match=r"slots\.0: unknown practitioner 'dr-nobody'"):
        seed_scenario(client, {"slots": [{"practitioner": "dr-nobody", "start": NOW, "minutes": 15}]}, TZ)


def test_seed_scenario_may_build_on_the_demo_practice(seeded: FhirClient) -> None:
    start = datetime(2026, 12, 2, 7, 0, tzinfo=TZ)
    seed_scenario(seeded, {"slots": [{"practitioner": "dr-okafor", "start": start, "minutes": 15}]}, TZ)
    assert seeded.read("Slot", "dr-okafor-20261202T1500Z")["status"] == "free"


# --- process lifecycle ---------------------------------------------------------------------------


def _gone(pid: int, within_seconds: float) -> bool:
    deadline = time.monotonic() + within_seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_leaving_the_context_stops_the_node_process(server: FhirDevServer) -> None:
    with FhirDevServer() as second:
        pid = second.pid
        assert pid is not None
        assert second.running
        assert second.base_url != server.base_url
    assert not second.running
    assert _gone(pid, 5.0)


def test_node_process_exits_when_its_parent_is_killed(server: FhirDevServer) -> None:
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from careline_local.fhir import FhirDevServer\n"
            "s = FhirDevServer(); s.start(); print(s.pid, flush=True)\n"
            "import time; time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    child_pid = 0
    try:
        assert parent.stdout is not None
        child_pid = int(parent.stdout.readline())
        os.kill(child_pid, 0)  # running
        parent.send_signal(signal.SIGKILL)
        parent.wait(5)
        assert _gone(child_pid, 5.0)
    finally:
        if parent.poll() is None:
            parent.kill()
        if child_pid and not _gone(child_pid, 0.1):
            os.kill(child_pid, signal.SIGKILL)
