"""The phone line's edge: Lex V2 code-hook events in, Lex V2 responses out."""

from __future__ import annotations

import copy
import itertools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from careline.channels.voice import (
    END_OF_CONVERSATION_ATTRIBUTE,
    InputMode,
    InvocationSource,
    Transcription,
    VoiceTurn,
    build_lex_response,
    parse_lex_event,
)
from careline.conversation.model import Channel
from careline.errors import MalformedEventError
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.lex_shapes import response_errors

EVENTS = Path(__file__).resolve().parents[2] / "events"
AT = datetime(2026, 3, 2, 17, 4, 5, tzinfo=UTC)
CALLER = "+15035550188"
PRACTICE = "+15035550100"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return data


def text_event() -> dict[str, Any]:
    return load("lex_v2_code_hook.json")


def speech_event() -> dict[str, Any]:
    return load("lex_v2_code_hook_speech.json")


def dtmf_event() -> dict[str, Any]:
    return load("lex_v2_code_hook_dtmf.json")


def parse(event: Any) -> VoiceTurn:
    return parse_lex_event(event, received_at=AT)


def test_the_validator_rejects_what_lex_would() -> None:
    assert response_errors({}) != []
    assert response_errors({"sessionState": {"dialogAction": {"type": "Hangup"}}}) != []
    assert response_errors({"sessionState": {"dialogAction": {"type": "Close"}}}) != []
    assert response_errors({"sessionState": {"dialogAction": {"type": "ElicitIntent"}}}) != []
    elicit = {"dialogAction": {"type": "ElicitIntent"}}
    hello = [{"contentType": "PlainText", "content": "hi"}]
    assert (
        response_errors({"sessionState": {**elicit, "sessionAttributes": {"n": 1}}, "messages": hello}) != []
    )
    broken_ssml = [{"contentType": "SSML", "content": "<speak>a & b</speak>"}]
    assert response_errors({"sessionState": elicit, "messages": broken_ssml}) != []
    assert response_errors({"sessionState": elicit, "messages": hello}) == []


# ---------------------------------------------------------------- parsing the sample events
def test_a_text_turn_becomes_a_voice_inbound_message_from_the_caller() -> None:
    turn = parse(text_event())
    assert turn.message.channel is Channel.VOICE
    assert turn.message.from_number == CALLER
    assert turn.message.to_number == PRACTICE
    assert turn.message.text == "What are your hours today?"
    assert turn.message.received_at == AT
    assert turn.input_mode is InputMode.TEXT
    assert turn.invocation_source is InvocationSource.DIALOG
    assert turn.contact_id == "5f1c3a2e-8b7d-4e0f-9a61-2c4d6e8f0a13"
    assert turn.session_id == "5f1c3a2e-8b7d-4e0f-9a61-2c4d6e8f0a13"
    assert turn.originating_request_id == "a3e6c9d2-4f17-4b8a-b0c5-7d2e91f4a6b8"
    assert turn.message.message_id == (
        "voice:5f1c3a2e-8b7d-4e0f-9a61-2c4d6e8f0a13:a3e6c9d2-4f17-4b8a-b0c5-7d2e91f4a6b8"
    )
    assert (turn.top_intent, turn.top_confidence) == ("PracticeHours", 0.93)
    assert turn.intent_name == "PracticeHours"
    assert turn.platform == "Connect"
    assert turn.accepts_ssml is True
    assert turn.transcriptions == ()
    assert turn.session_attributes["careline_instance_arn"].startswith("arn:aws:connect:")


def test_a_speech_turn_keeps_the_recognition_alternatives_and_the_active_intent() -> None:
    turn = parse(speech_event())
    assert turn.input_mode is InputMode.SPEECH
    assert turn.message.text == "I need to move my appointment on Thursday"
    assert turn.transcriptions[0] == Transcription("I need to move my appointment on Thursday", 0.91)
    assert [t.confidence for t in turn.transcriptions] == [0.91, 0.74, 0.52]
    assert (turn.top_intent, turn.top_confidence) == ("RescheduleAppointment", 0.87)
    assert turn.intent_name == "RescheduleAppointment"
    assert set(turn.intent_slots) == {"day", "time"}
    assert turn.intent_slots["time"] is None


def test_a_dtmf_turn_carries_the_digits_and_careline_own_session_attributes() -> None:
    turn = parse(dtmf_event())
    assert turn.input_mode is InputMode.DTMF
    assert turn.message.text == "03141984"
    assert turn.session_attributes["careline_awaiting"] == "date_of_birth"
    # FallbackIntent comes without nluConfidence; no active intent, so the top one stands in
    assert (turn.top_intent, turn.top_confidence) == ("FallbackIntent", None)
    assert turn.intent_name == "FallbackIntent"


def test_the_message_id_is_the_same_when_lex_retries_the_same_request() -> None:
    first, again = parse(speech_event()), parse_lex_event(speech_event(), received_at=datetime.now(UTC))
    assert first.message.message_id == again.message.message_id
    other = speech_event()
    other["sessionState"]["originatingRequestId"] = "0f0e0d0c-0b0a-4909-8807-060504030201"
    assert parse(other).message.message_id != first.message.message_id


def test_without_a_request_id_the_message_id_is_a_stable_hash_that_quotes_nothing() -> None:
    event = text_event()
    del event["sessionState"]["originatingRequestId"]
    turn = parse(event)
    assert turn.originating_request_id is None
    assert turn.message.message_id == parse(copy.deepcopy(event)).message.message_id
    assert "hours" not in turn.message.message_id
    assert turn.message.message_id.startswith("voice:5f1c3a2e-8b7d-4e0f-9a61-2c4d6e8f0a13:h")
    event["inputTranscript"] = "Where are you?"
    assert parse(event).message.message_id != turn.message.message_id


def test_a_fulfillment_hook_and_absent_optionals_parse() -> None:
    event = text_event()
    event["invocationSource"] = "FulfillmentCodeHook"
    for key in ("interpretations", "requestAttributes", "proposedNextState"):
        event.pop(key)
    event["sessionState"].pop("intent")
    turn = parse(event)
    assert turn.invocation_source is InvocationSource.FULFILLMENT
    assert (turn.top_intent, turn.top_confidence, turn.intent_name) == (None, None, None)
    assert turn.platform is None
    assert turn.accepts_ssml is True


def test_a_client_that_accepts_only_plain_text_is_noted() -> None:
    event = text_event()
    event["requestAttributes"]["x-amz-lex:accept-content-types"] = "PlainText"
    assert parse(event).accepts_ssml is False


def test_unknown_fields_are_ignored() -> None:
    event = text_event()
    event["invocationLabel"] = "label"
    event["sessionState"]["runtimeHints"] = {}
    assert parse(event).message.text == "What are your hours today?"


def test_received_at_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone"):
        parse_lex_event(text_event(), received_at=datetime(2026, 3, 2, 17, 4, 5))


# ---------------------------------------------------------------- rejecting malformed events
def _set(event: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    *parents, last = path.split(".")
    node: Any = event
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is _DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return event


_DELETE = object()
SECRET = "+19995550123 Jane Doe 1984"


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        ("messageVersion", "2.0", "messageVersion"),
        ("invocationSource", SECRET, "invocationSource"),
        ("inputMode", "Video", "inputMode"),
        ("inputMode", _DELETE, "inputMode"),
        ("sessionId", SECRET, "sessionId"),
        ("inputTranscript", None, "inputTranscript"),
        ("inputTranscript", "x" * 5_001, "inputTranscript"),
        ("inputTranscript", "\ud800", "inputTranscript"),
        ("bot", _DELETE, "bot"),
        ("interpretations", {}, "interpretations"),
        ("interpretations.0.intent", None, "interpretations[0].intent"),
        ("interpretations.0.intent.name", SECRET, "interpretations[0].intent.name"),
        ("interpretations.0.intent.slots", [SECRET], "interpretations[0].intent.slots"),
        ("interpretations.0.nluConfidence", 1.5, "nluConfidence"),
        ("interpretations.0.nluConfidence", True, "nluConfidence"),
        ("requestAttributes", {"x-amz-lex:channels:platform": 7}, "requestAttributes"),
        ("sessionState", None, "sessionState"),
        ("sessionState.sessionAttributes.careline_contact_id", _DELETE, "careline_contact_id"),
        ("sessionState.sessionAttributes.careline_contact_id", SECRET, "careline_contact_id"),
        ("sessionState.sessionAttributes.careline_caller_number", _DELETE, "careline_caller_number"),
        ("sessionState.sessionAttributes.careline_caller_number", SECRET, "careline_caller_number"),
        ("sessionState.sessionAttributes.careline_dialed_number", "5035550100", "careline_dialed_number"),
        ("sessionState.sessionAttributes.patient", 1984, "sessionAttributes"),
        ("sessionState.originatingRequestId", "", "originatingRequestId"),
        ("sessionState.intent.slots", SECRET, "sessionState.intent.slots"),
        (
            "transcriptions",
            [{"transcription": SECRET, "transcriptionConfidence": "high"}],
            "transcriptionConfidence",
        ),
        ("transcriptions", SECRET, "transcriptions"),
    ],
)
def test_malformed_events_are_refused_with_a_reason_that_quotes_no_value(
    path: str, value: Any, reason: str
) -> None:
    event = _set(text_event(), path, value)
    with pytest.raises(MalformedEventError) as refused:
        parse(event)
    message = str(refused.value)
    assert reason in message
    for fragment in ("9995550123", "Jane", "1984", CALLER, "hours"):
        assert fragment not in message


@pytest.mark.parametrize("event", [None, [], "text", 3, {}])
def test_what_is_not_an_event_object_is_refused(event: Any) -> None:
    with pytest.raises(MalformedEventError):
        parse(event)


# ---------------------------------------------------------------- building responses
ACTIONS = ("ElicitIntent", "Close", "ElicitSlot")
ATTRIBUTE_CHOICES: tuple[dict[str, str], ...] = (
    {},
    {"careline_awaiting": "date_of_birth", "careline_turns": "3"},
)


@pytest.mark.parametrize(
    ("action", "ssml", "attributes", "sample"),
    list(
        itertools.product(
            ACTIONS,
            (True, False),
            ATTRIBUTE_CHOICES,
            ("lex_v2_code_hook.json", "lex_v2_code_hook_speech.json"),
        )
    ),
)
def test_every_response_the_builder_returns_has_the_documented_shape(
    action: Any, ssml: bool, attributes: dict[str, str], sample: str
) -> None:
    turn = parse(load(sample))
    response = build_lex_response(
        turn,
        ["We're open 8 to 5 today & tomorrow.", "Anything else? <Press 1>"],
        action=action,
        session_attributes=attributes,
        slot_to_elicit="time" if action == "ElicitSlot" else None,
        ssml=ssml,
        end_of_conversation=action == "Close",
    )
    assert response_errors(response) == []
    assert response["sessionState"]["dialogAction"]["type"] == action
    kinds = {m["contentType"] for m in response["messages"]}
    assert kinds == ({"SSML"} if ssml else {"PlainText"})


def test_close_without_messages_and_elicit_slot_on_a_fresh_intent_still_validate() -> None:
    turn = parse(dtmf_event())
    assert response_errors(build_lex_response(turn, [], action="Close", session_attributes={})) == []
    slot = build_lex_response(
        turn, ["Your date of birth?"], action="ElicitSlot", session_attributes={}, slot_to_elicit="dob"
    )
    assert response_errors(slot) == []
    assert slot["sessionState"]["intent"] == {
        "name": "FallbackIntent",
        "slots": {"dob": None},
        "state": "InProgress",
    }


def test_ssml_escapes_the_text_and_drops_what_xml_cannot_carry() -> None:
    turn = parse(text_event())
    response = build_lex_response(
        turn, ['Dr. O\'Neil & "Smith" <b>\x00'], action="ElicitIntent", session_attributes={}
    )
    content = response["messages"][0]["content"]
    assert content == '<speak>Dr. O\'Neil &amp; "Smith" &lt;b&gt;</speak>'
    assert ElementTree.fromstring(content).text == 'Dr. O\'Neil & "Smith" <b>'


def test_plain_text_is_sent_as_is_when_ssml_is_off_or_not_accepted() -> None:
    event = text_event()
    event["requestAttributes"]["x-amz-lex:accept-content-types"] = "PlainText"
    for turn, ssml in ((parse(text_event()), False), (parse(event), True)):
        response = build_lex_response(
            turn, ["A & B"], action="ElicitIntent", session_attributes={}, ssml=ssml
        )
        assert response["messages"] == [{"contentType": "PlainText", "content": "A & B"}]


def test_close_is_fulfilled_with_the_active_intent_and_can_end_the_call() -> None:
    turn = parse(speech_event())
    response = build_lex_response(
        turn, ["Goodbye."], action="Close", session_attributes={"a": "b"}, end_of_conversation=True
    )
    state = response["sessionState"]
    assert state["intent"]["name"] == "RescheduleAppointment"
    assert state["intent"]["state"] == "Fulfilled"
    assert state["intent"]["slots"] == dict(turn.intent_slots)
    assert state["sessionAttributes"] == {"a": "b", END_OF_CONVERSATION_ATTRIBUTE: "true"}
    assert (
        "intent"
        not in build_lex_response(turn, ["Hi"], action="ElicitIntent", session_attributes={})["sessionState"]
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"action": "ElicitIntent", "messages": []},
        {"action": "ElicitSlot", "slot_to_elicit": None},
        {"action": "Close", "slot_to_elicit": "time"},
        {"action": "ElicitIntent", "end_of_conversation": True},
        {"action": "Delegate"},
        {"action": "Close", "session_attributes": {"count": 3}},
        {"action": "Close", "session_attributes": {"": "x"}},
    ],
)
def test_responses_lex_would_reject_are_refused(kwargs: dict[str, Any]) -> None:
    arguments: dict[str, Any] = {"messages": ["Hello."], "session_attributes": {}, **kwargs}
    with pytest.raises(ValueError, match=r"."):
        build_lex_response(parse(text_event()), **arguments)


# ---------------------------------------------------------------- fuzzing
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
PATHS = [
    "messageVersion", "invocationSource", "inputMode", "sessionId", "inputTranscript", "bot",
    "interpretations", "interpretations.0", "interpretations.0.intent", "interpretations.0.intent.name",
    "interpretations.0.intent.slots", "interpretations.0.nluConfidence", "requestAttributes",
    "sessionState", "sessionState.sessionAttributes", "sessionState.sessionAttributes.careline_contact_id",
    "sessionState.sessionAttributes.careline_caller_number", "sessionState.intent",
    "sessionState.intent.slots", "sessionState.originatingRequestId", "transcriptions", "transcriptions.0",
    "transcriptions.0.transcription", "transcriptions.0.transcriptionConfidence",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_arbitrary_json_parses_or_is_refused_as_malformed(event: Any) -> None:
    try:
        turn = parse(event)
    except MalformedEventError:
        return
    assert turn.message.channel is Channel.VOICE


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(PATHS), JSON)
def test_a_sample_with_any_one_field_replaced_parses_or_is_refused(path: str, value: Any) -> None:
    event = speech_event()
    _set(event, path, value)
    try:
        turn = parse(event)
    except MalformedEventError:
        return
    response = build_lex_response(turn, ["Okay."], action="ElicitIntent", session_attributes={})
    assert response_errors(response) == []


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_becomes_valid_ssml(text: str) -> None:
    response = build_lex_response(parse(text_event()), [text], action="ElicitIntent", session_attributes={})
    assert response_errors(response) == []
