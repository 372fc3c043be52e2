"""The local runtime's reminders: the campaign state machine in moto from the repository's ASL, the
send queue drained into the sender at its paced delays, the jobs' reports, the page's API, and the
scenario format's reminder keys.

The campaign tests route the Plan task to a stand-in plan (the real one needs scored visits, which
the FHIR-backed test at the end provides through the real scoring job), so what is measured here is
the local wiring: substitutions, queue delays in real seconds, partial batch failures, the
dead-letter queue. The last tests run the whole path on a scenario's FHIR server.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest
import yaml
from careline.config import load_practice_config
from careline_local.aws import REMINDER_SEND_MAX_RECEIVES, in_process_aws
from careline_local.campaign import run_campaign
from careline_local.clock import LocalClock
from careline_local.gateway import Gateway
from careline_local.jobs import job_names
from careline_local.paths import PRACTICE_CONFIG
from careline_local.scenario_model import ScenarioError, load_scenario, parse_scenario
from careline_local.scenarios import FhirForScenarios, scenario_stack
from careline_local.stack import LocalStack

PORTLAND = ZoneInfo("America/Los_Angeles")
CONFIG = load_practice_config(PRACTICE_CONFIG)


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    with in_process_aws(
        CONFIG.deployment.region,
        config_path=str(PRACTICE_CONFIG),
        origination_identity=CONFIG.practice.phone,
        reminder_concurrency=CONFIG.reminders.max_concurrency,
    ) as resources:
        local = LocalStack(
            resources=resources, clock=LocalClock(datetime(2026, 3, 16, 10, tzinfo=PORTLAND)), config=CONFIG
        )
        try:
            yield local
        finally:
            local.close()


def _sends(count: int) -> list[dict[str, Any]]:
    return [
        {
            "appointment_id": f"a{i}",
            "key": f"reminder#a{i}#72h",
            "step": "72h",
            "channel": "sms",
            "delay_seconds": i,
        }
        for i in range(count)
    ]


def _plan_with(stack: LocalStack, sends: list[dict[str, Any]]) -> None:
    stack.lambda_routes.handlers[stack.campaign.plan_function] = lambda event, context: {
        "sends": sends,
        "counts": {"visits": len(sends), "due": len(sends), "skipped_cap_day": 1},
    }


def test_the_campaign_is_the_repositorys_state_machine_with_the_stacks_queue_and_concurrency(
    stack: LocalStack,
) -> None:
    campaign = stack.campaign
    client = boto3.client("stepfunctions", region_name=CONFIG.deployment.region)
    definition = json.loads(
        client.describe_state_machine(stateMachineArn=campaign.state_machine_arn)["definition"]
    )
    sqs = boto3.client("sqs", region_name=CONFIG.deployment.region)
    redrive = json.loads(
        sqs.get_queue_attributes(QueueUrl=campaign.send_queue_url, AttributeNames=["RedrivePolicy"])[
            "Attributes"
        ]["RedrivePolicy"]
    )
    dlq_arn = sqs.get_queue_attributes(QueueUrl=campaign.send_dlq_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]

    assert definition["StartAt"] == "Plan"
    assert definition["States"]["Plan"]["Parameters"]["FunctionName"].endswith(f":{campaign.plan_function}")
    enqueue = definition["States"]["Enqueue"]
    assert enqueue["MaxConcurrency"] == CONFIG.reminders.max_concurrency
    send = enqueue["ItemProcessor"]["States"]["SendToQueue"]
    assert send["Resource"] == "arn:aws:states:::sqs:sendMessage"
    assert send["Parameters"]["QueueUrl"] == campaign.send_queue_url
    assert "${" not in json.dumps(definition)
    assert redrive == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": REMINDER_SEND_MAX_RECEIVES}


def test_each_due_send_reaches_the_sender_after_its_place_in_line_delay(stack: LocalStack) -> None:
    _plan_with(stack, _sends(3))
    arrivals: list[tuple[float, str]] = []
    started = time.monotonic()

    def deliver(event: dict[str, Any]) -> dict[str, Any]:
        for record in event["Records"]:
            assert record["eventSource"] == "aws:sqs"
            assert record["eventSourceARN"] == stack.campaign.send_queue_arn
            arrivals.append((time.monotonic() - started, json.loads(record["body"])["appointment_id"]))
        return {"batchItemFailures": []}

    run = run_campaign(
        stack.campaign,
        stepfunctions=boto3.client("stepfunctions", region_name=CONFIG.deployment.region),
        sqs=boto3.client("sqs", region_name=CONFIG.deployment.region),
        region=CONFIG.deployment.region,
        now=stack.clock.now(),
        deliver=deliver,
        plan_result=stack._plan_result,
    )

    assert [appointment for _at, appointment in arrivals] == ["a0", "a1", "a2"]
    # the queue's delays are real seconds: the third send waited about two seconds for its turn
    assert arrivals[2][0] - arrivals[0][0] >= 1.5
    assert run.status == "SUCCEEDED"
    assert run.execution.startswith("reminders-20260316T170000Z-")
    assert (run.planned, run.delivered, run.retried, run.dead_lettered) == (3, 3, 0, 0)
    assert run.plan_counts["skipped_cap_day"] == 1


def test_a_send_that_keeps_failing_is_retried_then_dead_lettered_and_reported(stack: LocalStack) -> None:
    _plan_with(stack, _sends(2))
    seen: list[str] = []

    def deliver(event: dict[str, Any]) -> dict[str, Any]:
        failures = []
        for record in event["Records"]:
            appointment = json.loads(record["body"])["appointment_id"]
            seen.append(appointment)
            if appointment == "a1":
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    stack.invoke_function = lambda folder, event: deliver(event)  # type: ignore[method-assign]
    report, _outcome = stack.run_job("reminders")

    assert seen.count("a0") == 1
    assert seen.count("a1") == REMINDER_SEND_MAX_RECEIVES
    assert report.counts["retried"] == REMINDER_SEND_MAX_RECEIVES
    assert report.counts["failed"] == 1
    assert report.counts["skipped_cap_day"] == 1
    assert "1 failed to the dead-letter queue" in report.summary


def test_a_sender_that_raises_fails_its_whole_batch_as_lambda_would(stack: LocalStack) -> None:
    _plan_with(stack, _sends(1))
    calls: list[int] = []

    def deliver(event: dict[str, Any]) -> dict[str, Any]:
        calls.append(len(event["Records"]))
        if len(calls) == 1:
            raise RuntimeError("the table did not answer")
        return {"batchItemFailures": []}

    stack.invoke_function = lambda folder, event: deliver(event)  # type: ignore[method-assign]
    report, _outcome = stack.run_job("reminders")

    assert calls == [1, 1]
    assert (report.counts["retried"], report.counts["failed"]) == (1, 0)


def test_the_reminder_jobs_are_registered_for_scenarios_and_the_page() -> None:
    assert {"risk_scoring", "reminders", "waitlist"} <= set(job_names())


# -- the scenario format ---------------------------------------------------------------------------

PEOPLE = """\
name: bad
clock: 2026-03-16T10:00:00-07:00
practitioners:
  - {id: dr-chen, name: "Dr. Lily Chen"}
patients:
  - id: jo
    name: Jo Quill
    birthDate: 1990-01-01
    phone: "+15035550111"
    appointments:
      - {id: j1, practitioner: dr-chen, start: 2026-03-19T10:00:00-07:00, minutes: 20}
"""


@pytest.mark.parametrize(
    ("patient_extra", "steps", "message"),
    [
        (
            "    email_preferred: true\n",
            "  - run_job: reminders\n",
            "patients.0.email_preferred: needs the patient's `email`",
        ),
        (
            "    conditions: [diabetes]\n",
            "  - run_job: reminders\n",
            "patients.0.conditions: not ICD-10 codes: diabetes",
        ),
        ("    coverage: gold\n", "  - run_job: reminders\n", "patients.0.coverage"),
        ("    phone_use: pager\n", "  - run_job: reminders\n", "patients.0.phone_use"),
        ("    address: {state: Oregon}\n", "  - run_job: reminders\n", "patients.0.address.state"),
        (
            "",
            "  - {expect: {tier: {appointment: nope, value: high}}}\n",
            "steps.0.expect.tier.0.appointment: unknown appointment id 'nope'",
        ),
        (
            "",
            "  - {expect: {outcome: {appointment: j1, value: forgotten}}}\n",
            "steps.0.expect.outcome.0.value",
        ),
        ("", "  - {ehr_cancel: nope}\n", "steps.0.ehr_cancel: unknown appointment id 'nope'"),
        (
            "",
            "  - run_job: reminders\n    expect: {email_sent: {to: jo}}\n",
            "steps.0.expect.email_sent.0.to: patient 'jo' has no `email`",
        ),
        (
            "",
            "  - run_job: reminders\n    expect: {call_task: {patient: '+15035550111'}}\n",
            "steps.0.expect.call_task.0.patient: unknown patient id",
        ),
        (
            "",
            "  - {expect: {waitlist: {patient: jo}}}\n",
            "steps.0.expect.waitlist.0.on_list: Field required",
        ),
    ],
)
def test_a_bad_reminder_key_is_refused_naming_the_file_and_the_key(
    tmp_path: Path, patient_extra: str, steps: str, message: str
) -> None:
    head, appointments = PEOPLE.split("    appointments:\n")
    path = tmp_path / "bad.yaml"
    path.write_text(
        f"{head}{patient_extra}    appointments:\n{appointments}steps:\n{steps}", encoding="utf-8"
    )

    with pytest.raises(ScenarioError) as refused:
        load_scenario(path, job_names())

    assert str(path) in str(refused.value)
    assert message in str(refused.value)


@pytest.mark.parametrize(
    ("appointment", "message"),
    [
        (
            "{id: p1, practitioner: dr-chen, start: 2026-03-20T10:00:00-07:00, minutes: 20, status: noshow}",
            "patients.0.appointments.1.start: a noshow visit happened before the scenario's clock",
        ),
        (
            "{id: p1, practitioner: dr-chen, start: 2026-03-20T10:00:00-07:00, minutes: 20,"
            " booked: 2026-03-21T10:00:00-07:00}",
            "patients.0.appointments.1.booked: must be at or before `start`",
        ),
        (
            "{id: j1, practitioner: dr-chen, start: 2026-01-20T10:00:00-08:00, minutes: 20,"
            " status: fulfilled}",
            "patients.0.appointments.1.id: duplicate appointment id 'j1'",
        ),
    ],
)
def test_a_past_visit_must_be_in_the_past_and_booked_before_it_starts(appointment: str, message: str) -> None:
    text = PEOPLE + f"      - {appointment}\nsteps:\n  - run_job: risk_scoring\n"
    with pytest.raises(ScenarioError) as refused:
        parse_scenario(yaml.safe_load(text), "inline.yaml", job_names())

    assert message in str(refused.value)


# -- the whole path on a FHIR server ---------------------------------------------------------------

SCENARIO = """\
name: reminders through the local stack
clock: 2026-03-16T02:00:00-07:00
practitioners:
  - {id: dr-chen, name: "Dr. Lily Chen"}
patients:
  - id: jules
    name: Jules Okonkwo
    birthDate: 2004-02-11
    gender: female
    phone: "+15035550147"
    email: jules.okonkwo@example.com
    address: {state: OR, city: Portland, postalCode: "97214"}
    coverage: medicaid
    conditions: [E11.9]
    appointments:
      - {id: j-past-1, practitioner: dr-chen, start: 2025-11-10T10:00:00-08:00, minutes: 20, status: noshow}
      - {id: j-past-2, practitioner: dr-chen, start: 2026-01-12T10:00:00-08:00, minutes: 20, status: noshow}
      - {id: j1, practitioner: dr-chen, start: 2026-03-19T10:00:00-07:00, minutes: 20,
         booked: 2026-01-20T11:00:00-08:00}
steps:
  - run_job: risk_scoring
"""


@pytest.fixture(scope="module")
def fhir() -> Iterator[FhirForScenarios]:
    servers = FhirForScenarios()
    try:
        yield servers
    finally:
        servers.close()


@pytest.fixture
def seeded(fhir: FhirForScenarios) -> Iterator[tuple[LocalStack, FhirForScenarios]]:
    scenario = parse_scenario(yaml.safe_load(SCENARIO), "inline.yaml", job_names())
    url = fhir.prepare(scenario, CONFIG.practice.timezone)
    with scenario_stack(scenario, CONFIG, PRACTICE_CONFIG, url) as local:
        yield local, fhir


def test_the_seeded_patient_carries_what_scoring_reads(seeded: tuple[LocalStack, FhirForScenarios]) -> None:
    _stack, fhir = seeded
    client = fhir._client
    assert client is not None

    patient = client.read("Patient", "jules")
    conditions = client.search("Condition", {"patient": "Patient/jules"})
    coverages = client.search("Coverage", {"beneficiary": "Patient/jules"})
    visit = client.read("Appointment", "j1")

    assert patient["address"][0]["state"] == "OR"
    assert {(t["system"], t.get("use"), t.get("rank")) for t in patient["telecom"]} == {
        ("phone", "mobile", 1),
        ("email", "home", 2),
    }
    assert [c["code"]["coding"][0]["code"] for c in conditions] == ["E11.9"]
    assert coverages[0]["type"]["coding"][0]["code"] == "2"
    assert datetime.fromisoformat(visit["created"]) == datetime(2026, 1, 20, 19, tzinfo=ZoneInfo("UTC"))


def test_scoring_then_a_campaign_run_report_counts_and_the_page_shows_them_without_phi(
    seeded: tuple[LocalStack, FhirForScenarios],
) -> None:
    local, _fhir = seeded
    scored, _ = local.run_job("risk_scoring")
    local.clock.advance(datetime(2026, 3, 16, 10, tzinfo=PORTLAND) - local.clock.now())
    campaign, outcome = local.run_job("reminders")
    again, repeated = local.run_job("reminders")

    assert scored.counts["scored"] == 1
    assert scored.counts["tier_high"] == 1
    assert campaign.counts["sent"] == campaign.counts["sms"] == 1
    assert [m.to for m in outcome.sent] == ["+15035550147"]
    assert again.counts["sent"] == 0
    assert again.counts["skipped_already_sent"] == 1
    assert repeated.sent == []

    gateway = Gateway(local, 0, [])
    gateway.start()
    try:
        with urllib.request.urlopen(f"{gateway.url}/api/reminders", timeout=10) as response:
            raw = response.read().decode("utf-8")
    finally:
        gateway.stop()
    shown = json.loads(raw)

    assert [(v["appointment_id"], v["tier"], v["outcome"]) for v in shown["visits"]] == [
        ("j1", "high", "reminded")
    ]
    assert [(s["kind"], s["appointment_id"], s["step"], s["channel"]) for s in shown["sent"]] == [
        ("reminder", "j1", "72h", "sms")
    ]
    for secret in ("5550147", "jules", "Okonkwo", "2004-02-11", "example.com"):
        assert secret not in raw


def test_an_ehr_cancellation_is_seen_by_the_next_scoring_run(
    seeded: tuple[LocalStack, FhirForScenarios],
) -> None:
    local, fhir = seeded
    local.run_job("risk_scoring")

    fhir.cancel_in_ehr("j1")
    report, _ = local.run_job("risk_scoring")
    visit = local.watched_visit("j1")

    assert report.counts["cancelled_seen"] == 1
    assert visit is not None
    assert visit.cancelled
    assert fhir.bookings(datetime(2026, 3, 19, 10, tzinfo=PORTLAND), "dr-chen") == []
