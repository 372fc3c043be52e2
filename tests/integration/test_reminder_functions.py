"""The scheduled functions end to end, as Lambda runs them: moto for the table, key, secret and bus;
the FHIR dev server for the EHR; an outbox for texts. Scoring -> plan -> the send queue's batches ->
the waitlist."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from careline.composition import (
    LocalLambdaContext,
    Overrides,
    get_reminder_runtime,
    install_overrides,
    reset_runtime,
)
from careline.messaging import OutboxMessenger
from careline.waitlist.model import FreedSlot, WaitlistEntry
from careline_local.fhir import FhirClient, FhirDevServer
from handler_env import ROOT, set_environment

pytestmark = pytest.mark.xdist_group("fhir_dev_server")

TZ = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=TZ)
VISIT = NOW + timedelta(hours=72)
RISKY, STEADY, LANDLINE = "+15035550161", "+15035550162", "+15035550163"


def _handler(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"{name}_handler", ROOT / "functions" / name / "handler.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _patient(pid: str, phone: str, birth: str, use: str = "mobile") -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "birthDate": birth,
        "gender": "female",
        "telecom": [{"system": "phone", "value": phone, "use": use}],
        "address": [{"use": "home", "state": "OR"}],
    }


def _appointment(
    aid: str, pid: str, start: datetime, status: str = "booked", booked_days: int = 45
) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "id": aid,
        "status": status,
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=20)).isoformat(),
        "created": (start - timedelta(days=booked_days)).isoformat(),
        "participant": [
            {"actor": {"reference": f"Patient/{pid}"}, "status": "accepted"},
            {"actor": {"reference": "Practitioner/dr-chen"}, "status": "accepted"},
        ],
    }


@pytest.fixture
def fhir(server: FhirDevServer) -> Iterator[FhirClient]:
    with server.client() as client:
        client.reset()
        client.put(
            {"resourceType": "Practitioner", "id": "dr-chen", "name": [{"family": "Chen", "given": ["Lily"]}]}
        )
        client.put(_patient("risky", RISKY, "2004-05-01"))
        client.put(_patient("steady", STEADY, "1950-01-01"))
        client.put(_patient("landline", LANDLINE, "1970-01-01", use="home"))
        client.put(_appointment("v-risky", "risky", VISIT))
        for n in range(3):
            client.put(_appointment(f"old-{n}", "risky", NOW - timedelta(days=30 * (n + 1)), status="noshow"))
        client.put(_appointment("v-steady", "steady", VISIT + timedelta(days=5), booked_days=1))
        client.put(_appointment("v-landline", "landline", VISIT - timedelta(hours=1)))
        yield client


@pytest.fixture
def outbox(
    aws: Any, server: FhirDevServer, fhir: FhirClient, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    from tests.unit.fakes import FixedClock

    set_environment(monkeypatch, aws, CARELINE_FHIR_BASE_URL=server.base_url)
    clock = FixedClock(NOW)
    messages = OutboxMessenger(clock)
    install_overrides(Overrides(clock=clock, messenger=messages))
    try:
        yield messages, clock
    finally:
        reset_runtime()


def _sqs_event(*bodies: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m-{i}",
                "receiptHandle": f"r-{i}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-west-2:123456789012:careline-reminders",
                "awsRegion": "us-west-2",
            }
            for i, body in enumerate(bodies)
        ]
    }


def test_scoring_planning_and_sending_run_as_lambda_runs_them(outbox: Any) -> None:
    messages, _clock = outbox
    scored = _handler("risk_scoring").handler({"job": "risk_scoring"}, LocalLambdaContext())
    assert scored["scored"] == 3
    assert scored["failed"] == 0
    runtime = get_reminder_runtime()
    assert runtime.reminders.visit("v-risky").tier == "high"  # type: ignore[union-attr]
    assert runtime.reminders.visit("v-landline").consent is False  # type: ignore[union-attr]

    plan = _handler("reminder_plan").handler({}, LocalLambdaContext())
    assert [s["appointment_id"] for s in plan["sends"]] == ["v-risky"]  # the 72-hour text
    assert plan["counts"]["skipped_no_consent"] >= 1

    send = _handler("reminder_send")
    body = json.dumps(plan["sends"][0])
    assert send.handler(_sqs_event(body), LocalLambdaContext()) == {"batchItemFailures": []}
    assert send.handler(_sqs_event(body), LocalLambdaContext()) == {"batchItemFailures": []}  # redelivered
    assert [m.to for m in messages.list()] == [RISKY]
    assert "Reply C to confirm" in messages.list()[0].body

    # an unreadable message is reported back (the queue keeps it, then its dead-letter queue)
    failed = send.handler(_sqs_event("{not json", body, json.dumps({"key": "x"})), LocalLambdaContext())
    assert [f["itemIdentifier"] for f in failed["batchItemFailures"]] == ["m-0", "m-2"]
    assert len(messages.list()) == 1

    # the campaign run again at the same time plans nothing more
    assert _handler("reminder_plan").handler({}, LocalLambdaContext())["sends"] == []


def test_the_waitlist_job_offers_a_freed_time_by_text(outbox: Any, fhir: FhirClient) -> None:
    messages, _clock = outbox
    freed_at = NOW + timedelta(days=1)
    fhir.put(
        {
            "resourceType": "Schedule",
            "id": "sched-chen",
            "active": True,
            "actor": [{"reference": "Practitioner/dr-chen"}],
        }
    )
    fhir.put(
        {
            "resourceType": "Slot",
            "id": "slot-freed",
            "schedule": {"reference": "Schedule/sched-chen"},
            "status": "free",
            "start": freed_at.isoformat(),
            "end": (freed_at + timedelta(minutes=20)).isoformat(),
        }
    )
    runtime = get_reminder_runtime()
    runtime.waitlist.join(
        WaitlistEntry(
            "steady", STEADY, "v-steady", "dr-chen", VISIT + timedelta(days=5), NOW - timedelta(days=2)
        )
    )
    runtime.waitlist.slot_freed(
        FreedSlot(
            FreedSlot.key_for("dr-chen", freed_at), "dr-chen", freed_at, freed_at + timedelta(minutes=20), NOW
        )
    )
    report = _handler("waitlist_offers").handler({}, LocalLambdaContext())
    assert report["offered"] == 1
    (offer,) = messages.list()
    assert offer.to == STEADY
    assert "YES" in offer.body
