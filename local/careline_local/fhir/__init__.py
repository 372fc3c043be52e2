"""The FHIR R4 dev server for the local runtime: run it, seed a practice into it, read it back.

with FhirDevServer() as server:
    client = server.client()
    seed_demo_practice(client, config, now)
    ...
    reset(client)            # a fresh, empty server without restarting Node
"""

from careline_local.fhir.client import FhirClient, FhirError
from careline_local.fhir.seed import (
    DEMO_PATIENTS_PATH,
    SeedSummary,
    config_hours,
    find_appointments,
    load_demo_patients,
    plan_slots,
    seed_demo_practice,
    seed_scenario,
    slot_id,
)
from careline_local.fhir.server import (
    SERVER_DIR,
    FhirDevServer,
    FhirDevServerError,
    install_dependencies,
    is_installed,
)


def reset(client: FhirClient) -> None:
    """Delete every resource on the dev server."""
    client.reset()


__all__ = [
    "DEMO_PATIENTS_PATH",
    "SERVER_DIR",
    "FhirClient",
    "FhirDevServer",
    "FhirDevServerError",
    "FhirError",
    "SeedSummary",
    "config_hours",
    "find_appointments",
    "install_dependencies",
    "is_installed",
    "load_demo_patients",
    "plan_slots",
    "reset",
    "seed_demo_practice",
    "seed_scenario",
    "slot_id",
]
