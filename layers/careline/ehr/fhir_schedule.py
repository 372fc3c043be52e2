"""The EHR's schedule read for no-show scoring: booked visits with their patients' history.

`FhirScheduleSource` is the `ScheduleSource` port over the FHIR adapter's transport (same SMART
auth, timeouts, retries and circuit breaker). One search finds the booked Appointments starting
in the window; each patient's Patient, active Conditions, Coverages and other Appointments are
read once per run, however many visits they have.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from careline.ehr.errors import EhrError, NotFound
from careline.ehr.fhir import FhirEhr, to_appointment
from careline.reminders.ports import VisitResources

Resource = dict[str, Any]


class FhirScheduleSource:
    def __init__(self, ehr: FhirEhr) -> None:
        self._ehr = ehr

    def booked_between(self, start: datetime, end: datetime) -> list[VisitResources]:
        appointments = self._ehr.search(
            "Appointment",
            [
                ("date", f"ge{start.isoformat()}"),
                ("date", f"lt{end.isoformat()}"),
                ("status", "booked"),
                ("_count", "500"),
            ],
        )
        history: dict[str, tuple[Resource, list[Resource], list[Resource], list[Resource]]] = {}
        found: list[VisitResources] = []
        for appointment in appointments:
            record = to_appointment(appointment)
            if record is None or not start <= record.start < end:
                continue
            patient_id = record.patient_id
            if patient_id not in history:
                try:
                    patient = self._ehr.read("Patient", patient_id)
                except NotFound:
                    continue  # an appointment for a patient the EHR no longer has: nobody to remind
                history[patient_id] = (
                    patient,
                    self._ehr.search("Condition", [("patient", f"Patient/{patient_id}"), ("_count", "100")]),
                    self._ehr.search(
                        "Coverage", [("beneficiary", f"Patient/{patient_id}"), ("_count", "50")]
                    ),
                    self._ehr.search(
                        "Appointment", [("patient", f"Patient/{patient_id}"), ("_count", "100")]
                    ),
                )
            patient_resource, conditions, coverages, past = history[patient_id]
            found.append(
                VisitResources(
                    appointment=appointment,
                    patient=patient_resource,
                    conditions=conditions,
                    coverages=coverages,
                    past_appointments=past,
                )
            )
        return found

    def appointment_status(self, appointment_id: str) -> str | None:
        try:
            resource = self._ehr.read("Appointment", appointment_id)
        except NotFound:
            return None
        status = resource.get("status")
        if not isinstance(status, str):
            raise EhrError("Appointment.status missing")
        return status
