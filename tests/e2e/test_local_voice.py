"""Phone calls in `careline local`: the call API the patient page and `careline chat --voice` use,
running the real voice functions on real-shaped Connect and Lex V2 events."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import LocalRuntime

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e-local")]

TUESDAY_MORNING = "2026-03-03T10:00:00-08:00"
GREETING = "Thank you for calling Riverbend Family Medicine."


def start_call(runtime: LocalRuntime, phone: str) -> dict[str, Any]:
    started: dict[str, Any] = runtime.ok("POST", "/api/voice/calls", {"from": phone})
    return started


def turn(runtime: LocalRuntime, call_id: str, **body: Any) -> dict[str, Any]:
    result: dict[str, Any] = runtime.ok("POST", f"/api/voice/calls/{call_id}/say", body)
    return result


def test_a_call_is_greeted_then_hears_todays_hours_as_plain_text(local_runtime: LocalRuntime) -> None:
    local_runtime.set_clock(TUESDAY_MORNING)

    started = start_call(local_runtime, "+15035550184")
    hours = turn(local_runtime, started["call_id"], text="what are your hours today")

    assert started["greeting"].startswith(GREETING)
    assert "<" not in started["greeting"]
    assert started["greeting_ssml"].startswith("<speak>")
    assert started["after_hours"] is False
    assert hours["spoken"] == ["We are open now, until 5pm today."]
    assert hours["ended"] is False
    assert hours["transfer_queue"] is None
    assert hours["sms"] == []
    assert hours["escalations"] == []
    lex = hours["lex_response"]
    assert lex["sessionState"]["dialogAction"]["type"] == "ElicitIntent"
    assert lex["messages"] == [
        {"contentType": "SSML", "content": "<speak>We are open now, until 5pm today.</speak>"}
    ]
    assert lex["sessionState"]["sessionAttributes"]["careline_contact_id"] == started["call_id"]
    state = local_runtime.ok("GET", f"/api/voice/calls/{started['call_id']}")
    assert state["turns"] == 1
    assert state["ended"] is False


def test_a_hung_up_call_refuses_more_turns_clearly(local_runtime: LocalRuntime) -> None:
    local_runtime.set_clock(TUESDAY_MORNING)
    call_id = start_call(local_runtime, "+15035550187")["call_id"]

    hung_up = local_runtime.ok("POST", f"/api/voice/calls/{call_id}/hangup", {})
    again = local_runtime.ok("POST", f"/api/voice/calls/{call_id}/hangup", {})
    status, refused = local_runtime.call("POST", f"/api/voice/calls/{call_id}/say", {"text": "hello?"})

    assert hung_up["ended"] is True
    assert hung_up["ended_by"] == "hangup"
    assert again["ended_by"] == "hangup"
    assert status == 409
    assert refused["error"] == f"call {call_id} has ended (the caller hung up); start a new call"


def test_asking_for_a_person_in_office_hours_transfers_the_call_to_the_front_desk(
    local_runtime: LocalRuntime,
) -> None:
    local_runtime.set_clock(TUESDAY_MORNING)
    call_id = start_call(local_runtime, "+15035550183")["call_id"]

    person = turn(local_runtime, call_id, text="can I talk to a person please")

    assert person["ended"] is True
    assert person["transfer_queue"] == "front_desk"
    assert re.search(r"(?i)connecting you with our front desk", " ".join(person["spoken"]))
    [escalation] = person["escalations"]
    assert escalation["queue"] == "front_desk"
    assert escalation["channel"] == "voice"
    assert escalation["reason"] == "human_requested"
    state = person["lex_response"]["sessionState"]
    assert state["dialogAction"]["type"] == "Close"
    assert state["sessionAttributes"]["careline_transfer_queue"] == "front_desk"
    assert state["sessionAttributes"]["careline_escalation_id"] == escalation["id"]
    assert person["escalation_id"] == escalation["id"]
    listed = local_runtime.ok("GET", "/api/escalations")["escalations"]
    assert escalation["id"] in {e["id"] for e in listed}
    status, refused = local_runtime.call("POST", f"/api/voice/calls/{call_id}/say", {"text": "hello?"})
    assert status == 409
    assert "transferred to the front_desk queue" in refused["error"]


def test_a_goodbye_closes_the_call_without_a_transfer(local_runtime: LocalRuntime) -> None:
    local_runtime.set_clock(TUESDAY_MORNING)
    call_id = start_call(local_runtime, "+15035550186")["call_id"]

    goodbye = turn(local_runtime, call_id, text="okay that's all, bye")

    assert goodbye["spoken"] == ["Thank you for calling Riverbend Family Medicine. Take care!"]
    assert goodbye["ended"] is True
    assert goodbye["transfer_queue"] is None
    attributes = goodbye["lex_response"]["sessionState"]["sessionAttributes"]
    assert attributes["careline_end_of_conversation"] == "true"
    assert "careline_transfer_queue" not in attributes
    assert local_runtime.ok("GET", f"/api/voice/calls/{call_id}")["ended_by"] == "close"


def test_a_demo_patient_keys_their_date_of_birth_and_hears_their_visit(
    local_runtime: LocalRuntime, demo_phones: list[str]
) -> None:
    local_runtime.set_clock(datetime.now(UTC).isoformat())
    james = demo_phones[1]  # James Whitfield, born 1957-11-02, a physical with Dr. Okafor
    call_id = start_call(local_runtime, james)["call_id"]

    ask = turn(local_runtime, call_id, text="when is my appointment", asr_confidence=0.88)
    visits = turn(local_runtime, call_id, dtmf="11021957#")  # `#` ends keypad input, as on a phone

    assert "date of birth" in " ".join(ask["spoken"])
    said = " ".join(visits["spoken"])
    assert "Dr. Okafor" in said
    assert "date of birth" not in said
    assert visits["ended"] is False


@pytest.mark.parametrize(
    ("path", "body", "status", "error"),
    [
        ("/api/voice/calls", {"from": "5035550184"}, 400, "`from` must be an E.164 number"),
        ("/api/voice/calls", {"from": "+15035550184", "to": "+15035550100"}, 400, "a call takes only `from`"),
        ("/api/voice/calls/{id}/say", {"text": "hi", "dtmf": "1"}, 400, 'give one of {"text"'),
        ("/api/voice/calls/{id}/say", {}, 400, 'give one of {"text"'),
        ("/api/voice/calls/{id}/say", {"dtmf": "12a"}, 400, "`dtmf` is keypad digits 0-9 and *"),
        ("/api/voice/calls/{id}/say", {"text": "  "}, 400, "`text` must be a non-empty string"),
        (
            "/api/voice/calls/{id}/say",
            {"text": "hi", "asr_confidence": 2},
            400,
            "`asr_confidence` is a number",
        ),
        ("/api/voice/calls/{id}/say", {"dtmf": "1", "asr_confidence": 0.5}, 400, "belongs to speech"),
        (
            "/api/voice/calls/00000000-0000-4000-8000-000000000000/say",
            {"text": "hi"},
            404,
            "no call '00000000-0000-4000-8000-000000000000'",
        ),
    ],
)
def test_a_bad_call_request_is_refused_naming_the_problem(
    local_runtime: LocalRuntime, path: str, body: dict[str, Any], status: int, error: str
) -> None:
    call_id = start_call(local_runtime, "+15035550185")["call_id"]

    got, payload = local_runtime.call("POST", path.format(id=call_id), body)

    assert got == status
    assert error in payload["error"]
    local_runtime.ok("POST", f"/api/voice/calls/{call_id}/hangup", {})


def test_careline_chat_voice_calls_from_the_terminal(local_runtime: LocalRuntime) -> None:
    local_runtime.set_clock(TUESDAY_MORNING)
    typed = "what are your hours today\n#1234\ncan I talk to someone please\n"
    command = ["chat", "--voice", "--phone", "+15035550189", "--url", local_runtime.url]

    chat = subprocess.run(
        [sys.executable, "-m", "careline_local.cli", *command],
        input=typed,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert chat.returncode == 0, chat.stderr
    out = chat.stdout
    assert f"practice> {GREETING}" in out
    assert "practice> We are open now, until 5pm today." in out
    assert re.search(r"practice> .*connecting you with our front desk", out)
    assert out.rstrip().endswith("(transferred to the front_desk queue; the call leaves Lex)")


VOICE_SCENARIO = """\
name: A call that does not go as written
clock: 2026-03-03T10:20:00-08:00
steps:
  - from: "+15035550188"
    channel: voice
    say: "what are your hours today"
  - from: "+15035550188"
    channel: voice
    say: "{say}"
    expect:
      {expect}
"""


@pytest.mark.parametrize(
    ("say", "expect", "expected", "happened"),
    [
        (
            "can I talk to a person",
            "transfer: billing",
            "a transfer to the billing queue",
            "Lex Close: transferred to the front_desk queue",
        ),
        (
            "are you open",
            'greeting: "(?i)thank you"',
            "a new call greeting matching /(?i)thank you/",
            "this step joined the call already in progress (no greeting)",
        ),
        (
            "are you open",
            'reply: "(?i)we are closed"',
            "reply matching /(?i)we are closed/",
            "spoken: 'We are open now, until 5pm today.'",
        ),
        ("bye", "call_ended: false", "the call to go on", "Lex Close: the call ended (close), no transfer"),
    ],
)
def test_a_wrong_voice_expectation_says_what_the_call_did(
    tmp_path: Path, say: str, expect: str, expected: str, happened: str
) -> None:
    from careline_local.scenarios import run_scenarios

    scenario = tmp_path / "call.yaml"
    scenario.write_text(VOICE_SCENARIO.format(say=say, expect=expect), encoding="utf-8")
    lines: list[str] = []

    [result] = run_scenarios([scenario], out=lines.append)

    assert not result.passed
    assert f"  step 1: from +15035550188 (voice): say {say!r}" in lines
    assert f"    expected: {expected}" in lines, lines
    assert f"    happened: {happened}" in lines, lines
