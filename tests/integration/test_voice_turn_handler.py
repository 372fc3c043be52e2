"""The voice_turn Lambda end to end: Lex V2 code-hook events -> parse -> idempotent turn -> moto table
-> Lex V2 response; and the voice_contact Lambda's greeting. Every response is checked against the
documented Lex V2 response shape."""

from __future__ import annotations

import copy
import importlib.util
import json
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from careline.composition import LocalLambdaContext, Overrides, install_overrides, reset_runtime
from careline.messaging import OutboxMessenger
from handler_env import set_environment

from tests.lex_shapes import response_errors
from tests.unit.fakes import InMemoryEhr
from tests.unit.test_appointment_dialogs import CHEN, EXISTING, OKAFOR, PATIENT, REYES, ROSALIND, free_slots

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
PRACTICE = "+15035550100"
# Monday Nov 30 2026, 10am in Portland: the practice is open
MONDAY_10AM = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)


def load_function(name: str) -> ModuleType:
    path = ROOT / "functions" / name / "handler.py"
    spec = importlib.util.spec_from_file_location(f"{name}_handler", path)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


@dataclass
class Call:
    """One phone call into the handler: events shaped like Lex's, session attributes carried."""

    handler: ModuleType
    caller: str = PATIENT
    contact_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    attributes: dict[str, str] = field(default_factory=dict)
    responses: list[dict[str, Any]] = field(default_factory=list)
    context: LocalLambdaContext = field(default_factory=LocalLambdaContext)

    def event(self, text: str, mode: str = "Speech", *, accept: str = "PlainText,SSML") -> dict[str, Any]:
        sample = "lex_v2_code_hook_dtmf.json" if mode == "DTMF" else "lex_v2_code_hook_speech.json"
        event: dict[str, Any] = json.loads((EVENTS / sample).read_text())
        event["inputMode"] = mode
        event["inputTranscript"] = text
        event["sessionId"] = self.contact_id
        event["requestAttributes"]["x-amz-lex:accept-content-types"] = accept
        event["transcriptions"] = [{"transcription": text, "transcriptionConfidence": 0.9}]
        event["interpretations"] = [
            {"intent": {"name": "FallbackIntent", "slots": {}, "state": "InProgress"}}
        ]
        event["sessionState"]["intent"] = None
        event["sessionState"]["originatingRequestId"] = str(uuid.uuid4())
        event["sessionState"]["sessionAttributes"] = {
            **self.attributes,
            "careline_contact_id": self.contact_id,
            "careline_caller_number": self.caller,
            "careline_dialed_number": PRACTICE,
        }
        return event

    def send(self, event: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = self.handler.handler(event, self.context)
        self.responses.append(response)
        self.attributes = dict(response["sessionState"].get("sessionAttributes", {}))
        return response

    def says(self, text: str, mode: str = "Speech") -> dict[str, Any]:
        return self.send(self.event(text, mode))


def heard(response: dict[str, Any]) -> str:
    return " ".join(m["content"] for m in response.get("messages", []))


def action(response: dict[str, Any]) -> str:
    kind: str = response["sessionState"]["dialogAction"]["type"]
    return kind


@pytest.fixture
def ehr() -> InMemoryEhr:
    return InMemoryEhr(
        patients=[ROSALIND], staff=[CHEN, OKAFOR, REYES], slots=free_slots(), appointments=[EXISTING]
    )


@pytest.fixture
def phone_line(
    aws: Any, monkeypatch: pytest.MonkeyPatch, ehr: InMemoryEhr
) -> Iterator[tuple[ModuleType, Clock, Any]]:
    set_environment(monkeypatch, aws)
    clock = Clock(MONDAY_10AM)
    outbox = OutboxMessenger(clock)
    install_overrides(Overrides(clock=clock, messenger=outbox, ehr=ehr))
    try:
        yield load_function("voice_turn"), clock, outbox
    finally:
        reset_runtime()


def test_every_response_the_handler_returns_has_the_documented_shape(phone_line: Any, aws: Any) -> None:
    handler, _clock, outbox = phone_line
    call = Call(handler)
    assert action(call.says("what are your hours today")) == "ElicitIntent"
    assert "date of birth" in heard(call.says("I need to move my appointment"))
    assert "Is that the one to move?" in heard(call.says("03141984", mode="DTMF"))
    call.says("yes")
    offers = call.says("tuesday")
    assert "The first is Tuesday, December 1 at 9:30am, with Dr. Chen." in heard(offers)
    texted = call.says("text me the options")
    assert "texted you the options" in heard(texted)
    assert any("1) Tue Dec 1 9:30am Dr. Chen" in m.body for m in outbox.list())
    assert "Shall I book" in heard(call.says("the first one"))
    plain = call.send(call.event("what is your fax number", accept="PlainText"))
    assert plain["messages"][0]["contentType"] == "PlainText"
    assert "(503) 555-" in heard(call.says("what is your phone number"))
    person = call.says("can I talk to a real person")
    assert action(person) == "Close"
    assert person["sessionState"]["sessionAttributes"]["careline_transfer_queue"] == "front_desk"

    crisis = Call(handler, caller="+15035550177").says("I want to end my life")
    assert crisis["sessionState"]["sessionAttributes"]["careline_transfer_queue"] == "crisis"
    emergency = Call(handler, caller="+15035550166").says(
        "my father has crushing chest pain and can't breathe"
    )
    assert emergency["sessionState"]["sessionAttributes"]["careline_end_of_conversation"] == "true"
    goodbye = Call(handler, caller="+15035550155").says("that's all, goodbye")
    assert action(goodbye) == "Close"
    silent = Call(handler, caller="+15035550144").says("   ")
    assert "didn't hear anything" in heard(silent)
    broken = Call(handler).event("hello")
    del broken["sessionState"]["sessionAttributes"]["careline_caller_number"]
    unreadable = Call(handler).send(broken)
    assert unreadable["sessionState"]["sessionAttributes"]["careline_transfer_queue"] == "front_desk"

    everything = [*call.responses, crisis, emergency, goodbye, silent, unreadable]
    for response in everything:
        assert response_errors(response) == [], response
    ssml = [m["content"] for r in everything for m in r.get("messages", []) if m["contentType"] == "SSML"]
    assert any('<say-as interpret-as="telephone">' in s for s in ssml)


def test_lex_retrying_the_same_request_gets_the_same_answer_and_the_turn_is_taken_once(
    phone_line: Any, aws: Any
) -> None:
    handler, _clock, outbox = phone_line
    call = Call(handler)
    call.says("I'd like to reschedule")
    call.says("0 3 1 4 1 9 8 4")
    call.says("yes")
    call.says("tuesday")
    event = call.event("please text me the options")
    first = call.send(copy.deepcopy(event))
    texts_after_first = len(outbox.list())
    again = call.send(copy.deepcopy(event))
    # a new container (its memory of the last turn gone) reads the answer back from the context
    reset_handler_memory(handler)
    third = call.send(copy.deepcopy(event))
    assert first == again == third
    assert len(outbox.list()) == texts_after_first, "the options were texted once"


def reset_handler_memory(handler: ModuleType) -> None:
    runtime = handler.get_runtime()
    runtime.service._last_spoken = None


def test_a_malformed_event_is_quarantined_and_the_caller_is_put_through(phone_line: Any, aws: Any) -> None:
    handler, _, _ = phone_line
    call = Call(handler)
    event = call.event("hello")
    event["inputMode"] = "Telepathy"
    response = call.send(event)
    assert response["sessionState"]["sessionAttributes"]["careline_transfer_queue"] == "front_desk"
    assert response_errors(response) == []
    (parked,) = boto3.client("sqs").receive_message(QueueUrl=aws.queue_url, MessageAttributeNames=["All"])[
        "Messages"
    ]
    assert parked["MessageAttributes"]["source"]["StringValue"] == "voice_turn"
    assert "inputMode" in parked["MessageAttributes"]["reason"]["StringValue"]


def test_a_failing_turn_is_answered_with_a_person_not_silence(
    phone_line: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler, _, _ = phone_line
    runtime = handler.get_runtime()

    def broken(inbound: Any) -> Any:
        raise RuntimeError("the table is throttled")

    monkeypatch.setattr(runtime, "handle_inbound", broken)
    response = Call(handler).says("what are your hours")
    assert action(response) == "Close"
    assert response["sessionState"]["sessionAttributes"]["careline_transfer_queue"] == "front_desk"
    assert response_errors(response) == []


@pytest.fixture
def silent_ehr() -> Iterator[str]:
    """An EHR that accepts connections and never answers (the worst kind of slow)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/fhir/R4"
    finally:
        server.close()


def test_a_silent_ehr_is_bounded_by_the_turn_budget_and_the_caller_gets_a_person(
    aws: Any, monkeypatch: pytest.MonkeyPatch, silent_ehr: str
) -> None:
    from careline.ehr.resilience import Resilience

    set_environment(monkeypatch, aws, CARELINE_FHIR_BASE_URL=silent_ehr)
    timeouts: list[tuple[float, float]] = []
    policy_timeouts = Resilience.attempt_timeouts

    def recorded(self: Resilience) -> tuple[float, float]:
        timeouts.append(policy_timeouts(self))
        return timeouts[-1]

    monkeypatch.setattr(Resilience, "attempt_timeouts", recorded)
    clock = Clock(MONDAY_10AM)
    install_overrides(Overrides(clock=clock, messenger=OutboxMessenger(clock)))
    try:
        handler = load_function("voice_turn")
        # a function with 2.5 s left: the EHR may have 1 s of it (1.5 s is kept for the rest)
        call = Call(handler, context=LocalLambdaContext(timeout_millis=2_500))
        call.says("what are your hours")  # warm: the container's first turn pays for its clients
        response = call.says("I need to book an appointment")
        budget = handler.get_runtime().ehr_budget.remaining()
    finally:
        reset_runtime()
    # every wait on the EHR was cut to the turn's budget (the policy alone would allow 2.5 s); on a
    # slow machine the budget may even be spent before the EHR is asked, which is bounded too
    assert all(read <= 1.0 and connect <= 1.0 for connect, read in timeouts), timeouts
    assert budget is None, "the budget stops with the turn"
    assert "scheduling system isn't answering" in heard(response)
    assert response["sessionState"]["sessionAttributes"]["careline_transfer_queue"] == "front_desk"
    assert response_errors(response) == []


def test_the_call_start_function_greets_from_the_practice_hours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARELINE_CONFIG_PATH", str(ROOT / "config" / "practice.yaml"))
    install_overrides(Overrides(clock=Clock(MONDAY_10AM)))
    try:
        greet = load_function("voice_contact")
        event = json.loads((EVENTS / "connect_contact_flow_call_start.json").read_text())
        answer = greet.handler(event, LocalLambdaContext())
        unreadable = greet.handler({"Name": "Nope"}, LocalLambdaContext())
    finally:
        reset_runtime()
    assert answer["after_hours"] == "false"
    assert answer["greeting"].startswith("<speak>Thank you for calling")
    assert unreadable["greeting"] == answer["greeting"], "a broken event still gets the greeting"
    assert all(isinstance(v, str) for v in answer.values())
