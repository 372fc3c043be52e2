"""Appointments by text in the local runtime, checked in the FHIR dev server (issue 3's acceptance)."""

from __future__ import annotations

import json
import re
import urllib.request
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.e2e.conftest import LocalRuntime

pytestmark = pytest.mark.e2e

HAROLD = "+15035550147"  # demo patient with a follow-up booked 15 days out (config/demo_patients.yaml)


def _fhir(local_runtime: LocalRuntime, query: str) -> list[dict[str, Any]]:
    base = local_runtime.ok("GET", "/api/health")["fhir"]
    with urllib.request.urlopen(f"{base}/{query}", timeout=10) as response:
        bundle = json.loads(response.read())
    return [entry["resource"] for entry in bundle.get("entry", [])]


def test_a_demo_patient_reschedules_by_text_and_the_ehr_shows_it(local_runtime: LocalRuntime) -> None:
    local_runtime.set_clock(datetime.now(UTC).isoformat())

    [ask_dob] = local_runtime.text(HAROLD, "need to reschedule my appt")
    assert "date of birth" in ask_dob
    assert not re.search(r"(?i)becker|chen|\d+(:\d\d)?\s*(am|pm)", ask_dob), (
        "nothing disclosed before verification"
    )
    [which] = local_runtime.text(HAROLD, "9/17/1948")
    assert "Move this one?" in which
    [when] = local_runtime.text(HAROLD, "yes")
    assert "What day and time" in when
    [offers] = local_runtime.text(HAROLD, "asap")
    assert len(re.findall(r"(?m)^[123]\) ", offers)) == 3, offers
    [confirm] = local_runtime.text(HAROLD, "2")
    assert confirm.startswith("Book ")
    [done] = local_runtime.text(HAROLD, "yes")
    assert "is cancelled" in done
    assert "Dr. Chen" in done

    appointments = {a["id"]: a for a in _fhir(local_runtime, "Appointment?patient=Patient/harold-becker")}
    assert appointments["demo-harold-followup"]["status"] == "cancelled"
    booked = [a for a in appointments.values() if a["status"] == "booked"]
    assert len(booked) == 1
    slot_id = booked[0]["slot"][0]["reference"].split("/")[-1]
    [slot] = _fhir(local_runtime, f"Slot?_id={slot_id}")
    assert slot["status"] == "busy"
    communications = _fhir(local_runtime, "Communication?subject=Patient/harold-becker")
    assert len(communications) == 1
    assert "Rescheduled" in communications[0]["payload"][0]["contentString"]
