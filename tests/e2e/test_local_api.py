"""`careline local` driven through its JSON API, as the patient page and `careline chat` drive it."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import LocalRuntime

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e-local")]

TUESDAY_MORNING = "2026-03-03T10:00:00-08:00"


def test_health_reports_the_fhir_dev_server_and_table(local_runtime: LocalRuntime) -> None:
    health = local_runtime.ok("GET", "/api/health")

    assert health["status"] == "ok"
    assert health["fhir"].startswith("http://127.0.0.1:")
    assert health["table"]


def test_a_demo_patient_asking_for_hours_gets_todays_hours(
    local_runtime: LocalRuntime, demo_phones: list[str]
) -> None:
    local_runtime.set_clock(TUESDAY_MORNING)

    replies = local_runtime.text(demo_phones[0], "what are your hours")

    assert len(replies) == 1
    assert "open now until 5pm" in replies[0]
    outbox = local_runtime.ok("GET", "/api/sms/outbound")["messages"]
    assert outbox[-1]["to"] == demo_phones[0]
    assert outbox[-1]["text"] == replies[0]


def test_a_holiday_answer_names_the_closure(local_runtime: LocalRuntime, demo_phones: list[str]) -> None:
    local_runtime.set_clock("2026-12-25T09:00:00-08:00")

    replies = local_runtime.text(demo_phones[1], "are you open today?")

    assert replies
    assert "closed today (Christmas Day)" in replies[0]


def test_stop_silences_the_number_until_start(local_runtime: LocalRuntime, demo_phones: list[str]) -> None:
    phone = demo_phones[2]
    local_runtime.set_clock(TUESDAY_MORNING)

    stop_ack = local_runtime.text(phone, "STOP")
    while_opted_out = local_runtime.text(phone, "what are your hours")
    start_ack = local_runtime.text(phone, "START")
    after_start = local_runtime.text(phone, "what are your hours")

    assert len(stop_ack) == 1
    assert "no more texts" in stop_ack[0]
    assert while_opted_out == []
    assert len(start_ack) == 1
    assert "texts from us again" in start_ack[0]
    assert after_start
    assert "5pm" in after_start[0]


def test_asking_for_a_person_lists_an_escalation(local_runtime: LocalRuntime, demo_phones: list[str]) -> None:
    local_runtime.set_clock(TUESDAY_MORNING)

    sent = local_runtime.ok("POST", "/api/sms", {"from": demo_phones[3], "text": "can I talk to a person"})

    created = sent["escalations"]
    assert [(e["reason"], e["queue"]) for e in created] == [("human_requested", "front_desk")]
    listed = local_runtime.ok("GET", "/api/escalations")["escalations"]
    assert created[0]["id"] in [e["id"] for e in listed]


def test_the_clock_advances_by_a_duration(local_runtime: LocalRuntime) -> None:
    local_runtime.set_clock(TUESDAY_MORNING)

    moved = local_runtime.ok("POST", "/api/clock", {"advance": "1d"})

    assert moved["local"].startswith("2026-03-04T10:00")
    assert moved["timezone"] == "America/Los_Angeles"


def test_expire_ttl_deletes_what_retention_has_passed(local_runtime: LocalRuntime) -> None:
    phone = "+15035550197"
    local_runtime.set_clock(TUESDAY_MORNING)
    local_runtime.text(phone, "STOP")
    assert local_runtime.text(phone, "hours") == []  # opted out

    local_runtime.ok("POST", "/api/clock", {"advance": "2200d"})  # past the 6-year retention
    report = local_runtime.ok("POST", "/api/jobs/expire_ttl")

    assert report["counts"]["deleted"] > 0
    assert local_runtime.text(phone, "hours")  # forgotten, so answered again


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/api/sms", {"from": "5035550100", "text": "hi"}, 400),
        ("POST", "/api/sms", {"from": "+15035550196", "text": "  "}, 400),
        ("POST", "/api/clock", {"advance": "soon"}, 400),
        ("POST", "/api/clock", {"set": "2026-03-03T10:00:00"}, 400),
        ("POST", "/api/jobs/not_a_job", {}, 404),
        ("GET", "/api/nothing-here", None, 404),
    ],
)
def test_bad_requests_are_refused_with_a_reason(
    local_runtime: LocalRuntime, method: str, path: str, body: dict[str, str] | None, status: int
) -> None:
    got, payload = local_runtime.call(method, path, body)

    assert got == status
    assert payload["error"]
