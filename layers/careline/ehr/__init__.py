"""The practice's EHR as Careline sees it: value types (`model`), failures (`errors`), the FHIR R4
adapter (`fhir.FhirEhr`), SMART backend-services auth (`smart`) and call resilience (`resilience`).

Import the adapter from `careline.ehr.fhir`; this package itself stays free of HTTP libraries so
the domain core can import the value types alone.
"""

from careline.ehr.errors import EhrError, EhrUnavailable, NotFound, SlotTaken
from careline.ehr.model import (
    AppointmentRecord,
    AppointmentStatus,
    FreeSlot,
    PatientRecord,
    Practitioner,
    SlotQuery,
)

__all__ = [
    "AppointmentRecord",
    "AppointmentStatus",
    "EhrError",
    "EhrUnavailable",
    "FreeSlot",
    "NotFound",
    "PatientRecord",
    "Practitioner",
    "SlotQuery",
    "SlotTaken",
]
