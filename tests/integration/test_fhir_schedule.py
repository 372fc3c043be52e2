"""`FhirScheduleSource` against the real FHIR R4 dev server: the booked visits of a window with each
patient's Patient, Conditions, Coverages and past Appointments, read once per patient."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from careline.ehr.fhir import FhirEhr
from careline.ehr.fhir_schedule import FhirScheduleSource
from careline.ehr.smart import EhrConnection
from careline_local.fhir import FhirClient, FhirDevServer

pytestmark = pytest.mark.xdist_group("fhir_dev_server")

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _appointment(
    appointment_id: str, patient: str, start: datetime, status: str = "booked"
) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "id": appointment_id,
        "status": status,
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=20)).isoformat(),
        "created": (start - timedelta(days=12)).isoformat(),
        "participant": [
            {"actor": {"reference": f"Patient/{patient}"}, "status": "accepted"},
            {"actor": {"reference": "Practitioner/dr-chen"}, "status": "accepted"},
        ],
    }


@pytest.fixture
def fhir(server: FhirDevServer) -> Iterator[FhirClient]:
    with server.client() as client:
        client.reset()
        client.put({"resourceType": "Practitioner", "id": "dr-chen", "name": [{"family": "Chen"}]})
        for pid in ("ana", "ben"):
            client.put(
                {
                    "resourceType": "Patient",
                    "id": pid,
                    "birthDate": "1990-02-03",
                    "telecom": [{"system": "phone", "value": "+15035550130", "use": "mobile"}],
                }
            )
        client.put(
            {
                "resourceType": "Condition",
                "id": "ana-htn",
                "subject": {"reference": "Patient/ana"},
                "clinicalStatus": {"coding": [{"code": "active"}]},
                "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "I10"}]},
            }
        )
        client.put(
            {
                "resourceType": "Coverage",
                "id": "ana-cov",
                "status": "active",
                "beneficiary": {"reference": "Patient/ana"},
                "payor": [{"display": "State Medicaid"}],
            }
        )
        client.put(_appointment("ana-1", "ana", START + timedelta(days=1)))
        client.put(_appointment("ana-2", "ana", START + timedelta(days=2)))
        client.put(_appointment("ana-old", "ana", START - timedelta(days=30), status="noshow"))
        client.put(_appointment("ben-1", "ben", START + timedelta(days=3)))
        client.put(_appointment("ben-x", "ben", START + timedelta(days=4), status="cancelled"))
        client.put(_appointment("ben-far", "ben", START + timedelta(days=30)))
        yield client


@pytest.fixture
def source(server: FhirDevServer) -> Iterator[FhirScheduleSource]:
    ehr = FhirEhr.connect(
        EhrConnection(fhir_base_url=server.base_url, auth="none"), now=lambda: datetime.now(UTC)
    )
    yield FhirScheduleSource(ehr)
    ehr.transport.close()


def test_the_booked_visits_of_the_window_come_with_their_patients_history(
    fhir: FhirClient, source: FhirScheduleSource
) -> None:
    visits = source.booked_between(START, START + timedelta(days=14))
    assert sorted(v.appointment["id"] for v in visits) == ["ana-1", "ana-2", "ben-1"]
    ana = next(v for v in visits if v.appointment["id"] == "ana-1")
    assert ana.patient["id"] == "ana"
    assert [c["id"] for c in ana.conditions] == ["ana-htn"]
    assert [c["id"] for c in ana.coverages] == ["ana-cov"]
    assert "ana-old" in {a["id"] for a in ana.past_appointments}


def test_an_appointments_status_is_read_and_a_missing_one_is_none(
    fhir: FhirClient, source: FhirScheduleSource
) -> None:
    assert source.appointment_status("ben-x") == "cancelled"
    assert source.appointment_status("ana-1") == "booked"
    assert source.appointment_status("no-such-visit") is None


def test_a_search_that_answers_in_part_fails_rather_than_missing_visits(
    fhir: FhirClient, server: FhirDevServer
) -> None:
    from careline.ehr.errors import EhrError

    ehr = FhirEhr.connect(
        EhrConnection(fhir_base_url=server.base_url, auth="none"), now=lambda: datetime.now(UTC)
    )
    try:
        assert len(ehr.search("Appointment", [("_count", "100")])) == 6
        # this server pages by cutting the answer short: a partial answer is an error, never a result
        with pytest.raises(EhrError, match="answered 2 of 6 matches"):
            ehr.search("Appointment", [("_count", "2")])
    finally:
        ehr.transport.close()
