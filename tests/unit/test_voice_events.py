"""The local runtime's phone-call events: real-shaped, and read by Careline's own parsers."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from careline.channels.voice import InputMode, InvocationSource, parse_lex_event
from careline.conversation.model import Channel
from careline.nlu import INTENTS
from careline_local.calls import check_contact_response, check_lex_response, spoken_lines, ssml_to_text
from careline_local.voice_events import (
    FALLBACK_INTENT,
    NLU_CONFIDENCE_THRESHOLD,
    contact_flow_event,
    instance_arn_of,
    interpretations_for,
    lex_event,
    lex_intent_names,
)

EVENTS = Path(__file__).resolve().parents[2] / "events"
AT = datetime(2026, 3, 3, 18, 0, tzinfo=UTC)
CALLER = "+15035550188"
PRACTICE = "+15035550100"


def build(text: str = "what are your hours today", **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("contact_id", "5f1c3a2e-8b7d-4e0f-9a61-2c4d6e8f0a13")
    return lex_event(caller=CALLER, dialed=PRACTICE, text=text, **kwargs)


def sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize(
    ("mode", "text", "sample_name"),
    [
        ("Text", "what are your hours today", "lex_v2_code_hook.json"),
        ("Speech", "I need to move my appointment on Thursday", "lex_v2_code_hook_speech.json"),
        ("DTMF", "03141984", "lex_v2_code_hook_dtmf.json"),
    ],
)
def test_each_input_mode_builds_an_event_careline_parses_with_the_samples_fields(
    mode: Any, text: str, sample_name: str
) -> None:
    event = build(text, mode=mode)

    turn = parse_lex_event(event, received_at=AT)

    assert turn.input_mode is InputMode(mode)
    assert turn.message.channel is Channel.VOICE
    assert turn.message.text == text
    assert turn.message.from_number == CALLER
    assert turn.message.to_number == PRACTICE
    assert turn.contact_id == event["sessionId"]
    assert turn.platform == "Connect"
    assert turn.accepts_ssml
    # every top-level field of the sample, and nothing it lacks (transcriptions only for audio)
    expected = set(sample(sample_name)) | ({"transcriptions"} if mode != "Text" else set())
    assert set(event) == expected
    assert event["bot"] == sample(sample_name)["bot"]
    assert event["requestAttributes"] == {
        "x-amz-lex:accept-content-types": "PlainText,SSML",
        "x-amz-lex:channels:platform": "Connect",
    }


def test_every_turn_gets_a_fresh_request_id_and_a_retry_can_reuse_one() -> None:
    first, second = build(), build()
    retry = build(request_id=first["sessionState"]["originatingRequestId"])

    ids = [e["sessionState"]["originatingRequestId"] for e in (first, second)]
    assert ids[0] != ids[1]
    assert all(uuid.UUID(i).version == 4 for i in ids)
    turns = [parse_lex_event(e, received_at=AT) for e in (first, second, retry)]
    assert turns[0].message.message_id != turns[1].message.message_id
    assert turns[2].message.message_id == turns[0].message.message_id  # Lex's retry: same turn


def test_session_attributes_are_carried_and_the_flows_own_are_set_on_every_turn() -> None:
    carried = {
        "careline_awaiting": "date_of_birth",
        "careline_contact_id": "stale",  # the flow sets its attributes again on every turn
    }

    event = build(session_attributes=carried, contact_id="c0ffee00-0000-4000-8000-000000000001")

    attributes = event["sessionState"]["sessionAttributes"]
    assert attributes["careline_awaiting"] == "date_of_birth"
    assert attributes["careline_contact_id"] == "c0ffee00-0000-4000-8000-000000000001"
    assert attributes["careline_caller_number"] == CALLER
    assert attributes["careline_dialed_number"] == PRACTICE
    assert attributes["careline_instance_arn"].startswith("arn:aws:connect:")
    assert event["sessionId"] == "c0ffee00-0000-4000-8000-000000000001"
    assert carried["careline_contact_id"] == "stale"  # the caller's map is not changed
    # a sample's handler-set attribute never leaks into a built event
    assert "careline_awaiting" not in build(mode="DTMF", text="1")["sessionState"]["sessionAttributes"]


def test_a_recognized_intent_comes_first_with_its_confidence_and_goes_to_the_dialog_hook() -> None:
    event = build("what are your hours today")

    top, fallback = event["interpretations"]
    assert top["intent"]["name"] == "practice_info"
    assert top["nluConfidence"] >= NLU_CONFIDENCE_THRESHOLD
    assert fallback["intent"]["name"] == FALLBACK_INTENT
    assert "nluConfidence" not in fallback
    assert event["sessionState"]["intent"]["name"] == "practice_info"
    assert event["invocationSource"] == "DialogCodeHook"
    turn = parse_lex_event(event, received_at=AT)
    assert turn.top_intent == "practice_info"
    assert turn.invocation_source is InvocationSource.DIALOG


@pytest.mark.parametrize("text", ["text me the options", "03141984", "uh"])
def test_out_of_scope_or_low_confidence_is_the_fallback_intent_without_a_confidence(text: str) -> None:
    event = build(text)

    top = event["interpretations"][0]
    assert top["intent"]["name"] == FALLBACK_INTENT
    assert "nluConfidence" not in top
    assert all(i["intent"]["name"] != "out_of_scope" for i in event["interpretations"])
    # the fallback intent has only a fulfillment code hook in the bot
    assert event["invocationSource"] == "FulfillmentCodeHook"
    turn = parse_lex_event(event, received_at=AT)
    assert turn.top_intent == FALLBACK_INTENT
    assert turn.top_confidence is None


def test_interpretations_name_only_intents_the_bot_is_compiled_with() -> None:
    from infra.bot_model import compile_intents, load_bot_model
    from infra.voice import NLU_CONFIDENCE_THRESHOLD as BOT_THRESHOLD

    compiled = {i.name for i in compile_intents(load_bot_model())}
    assert set(lex_intent_names()) == compiled | {FALLBACK_INTENT}
    assert set(INTENTS) == compiled
    assert NLU_CONFIDENCE_THRESHOLD == BOT_THRESHOLD
    for text in ("hello", "bye", "can I talk to a person", "I need to cancel", "refill please", "blorp"):
        for interpretation in interpretations_for(text):
            assert interpretation["intent"]["name"] in compiled | {FALLBACK_INTENT}


def test_speech_carries_the_transcription_with_the_asr_confidence_given() -> None:
    unsure = build("are you open today", mode="Speech", asr_confidence=0.42)
    clear = build("are you open today", mode="Speech")

    assert unsure["transcriptions"][0]["transcription"] == "are you open today"
    assert unsure["transcriptions"][0]["transcriptionConfidence"] == 0.42
    assert unsure["transcriptions"][0]["resolvedContext"] == {"intent": "practice_info"}
    assert 0.8 < clear["transcriptions"][0]["transcriptionConfidence"] <= 1.0
    assert unsure["responseContentType"] == "audio/pcm"
    turn = parse_lex_event(unsure, received_at=AT)
    assert turn.transcriptions[0].confidence == 0.42
    with pytest.raises(ValueError, match="between 0 and 1"):
        build(mode="Speech", asr_confidence=1.5)


def test_dtmf_is_the_digits_at_full_confidence_and_text_has_no_transcriptions() -> None:
    keys = build("03141984", mode="DTMF")
    typed = build("hi", mode="Text")

    assert keys["inputTranscript"] == "03141984"
    assert keys["transcriptions"][0] == {
        "transcription": "03141984",
        "transcriptionConfidence": 1.0,
        "resolvedContext": {"intent": None},
        "resolvedSlots": {},
    }
    assert "transcriptions" not in typed
    assert typed["responseContentType"] == "text/plain; charset=utf-8"


def test_after_elicit_slot_lex_stays_in_the_intent_and_fills_the_slot() -> None:
    previous = {
        "sessionAttributes": {},
        "dialogAction": {"type": "ElicitSlot", "slotToElicit": "choice"},
        "intent": {"name": "appointment_book", "slots": {"choice": None}, "state": "InProgress"},
    }

    event = build("the second one", previous_state=previous)

    intent = event["sessionState"]["intent"]
    assert intent["name"] == "appointment_book"
    assert intent["slots"]["choice"]["value"]["originalValue"] == "the second one"
    assert event["sessionState"]["dialogAction"] == {"type": "ElicitSlot", "slotToElicit": "choice"}
    assert event["interpretations"][0]["intent"]["name"] == "appointment_book"
    turn = parse_lex_event(event, received_at=AT)
    assert turn.intent_name == "appointment_book"
    assert "choice" in turn.intent_slots


def test_after_elicit_intent_a_new_intent_is_recognized() -> None:
    previous = {"dialogAction": {"type": "ElicitIntent"}, "intent": {"name": "practice_info", "slots": {}}}

    event = build("goodbye", previous_state=previous)

    assert event["sessionState"]["intent"]["name"] == "goodbye"
    assert event["sessionState"]["dialogAction"] == {"type": "ElicitIntent"}
    assert build()["sessionState"]["dialogAction"] is None  # the first turn has none


def test_an_unknown_input_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="input mode"):
        build(mode="Video")


def test_the_call_start_event_is_the_connect_sample_with_this_calls_ids_and_numbers() -> None:
    event = contact_flow_event(
        contact_id="c0ffee00-0000-4000-8000-000000000002", caller=CALLER, dialed=PRACTICE
    )

    data = event["Details"]["ContactData"]
    assert event["Name"] == "ContactFlowEvent"
    assert event["Details"]["Parameters"] == {}
    assert data["ContactId"] == data["InitialContactId"] == "c0ffee00-0000-4000-8000-000000000002"
    assert data["CustomerEndpoint"] == {"Address": CALLER, "Type": "TELEPHONE_NUMBER"}
    assert data["SystemEndpoint"] == {"Address": PRACTICE, "Type": "TELEPHONE_NUMBER"}
    assert data["Channel"] == "VOICE"
    assert data["InitiationMethod"] == "INBOUND"
    assert data["Queue"] is None
    assert data["Attributes"] == {}
    assert instance_arn_of(event) == data["InstanceARN"]
    samples = sorted(EVENTS.glob("connect_contact_flow_*.json"))
    if samples:  # the same fields as the repository's sample
        assert set(data) == set(sample("connect_contact_flow_call_start.json")["Details"]["ContactData"])
    try:
        from careline.channels.connect import parse_call_start
    except ImportError:  # pragma: no cover - before the voice contact function's parser exists
        return
    start = parse_call_start(event)
    assert start.contact_id == "c0ffee00-0000-4000-8000-000000000002"


# -- what a caller hears, from a Lex response ---------------------------------------------------------


def test_ssml_becomes_the_plain_words_a_caller_hears() -> None:
    assert ssml_to_text("<speak>Hi &amp; welcome.</speak>") == "Hi & welcome."
    assert ssml_to_text('<speak>Call <say-as interpret-as="telephone">503</say-as> now</speak>') == (
        "Call 503 now"
    )
    assert ssml_to_text('<speak>One.<break time="300ms"/>Two.</speak>') == "One. Two."
    assert ssml_to_text("<speak>It&apos;s &lt;fine&gt;</speak>") == "It's <fine>"


def test_spoken_lines_read_ssml_and_plain_text_messages_in_order() -> None:
    response = {
        "sessionState": {"dialogAction": {"type": "ElicitIntent"}, "sessionAttributes": {}},
        "messages": [
            {"contentType": "SSML", "content": "<speak>First.</speak>"},
            {"contentType": "PlainText", "content": "Second."},
            {"contentType": "ImageResponseCard", "imageResponseCard": {"title": "x"}},
        ],
    }

    assert spoken_lines(check_lex_response(response)) == ["First.", "Second."]


@pytest.mark.parametrize(
    ("response", "problem"),
    [
        ([], "not a dict"),
        ({"messages": []}, "no sessionState"),
        ({"sessionState": {"dialogAction": {"type": "Hangup"}}}, "dialog action"),
        (
            {"sessionState": {"dialogAction": {"type": "Close"}, "sessionAttributes": {"n": 1}}},
            "string-to-string",
        ),
    ],
)
def test_a_response_lex_would_reject_is_named_for_what_is_wrong(response: Any, problem: str) -> None:
    from careline_local.calls import BadHandlerResponse

    with pytest.raises(BadHandlerResponse, match=problem):
        check_lex_response(response)


def test_the_call_start_result_must_be_a_flat_string_map_with_a_greeting() -> None:
    from careline_local.calls import BadHandlerResponse

    assert check_contact_response({"greeting": "<speak>Hi</speak>", "after_hours": "true"}) == (
        "<speak>Hi</speak>",
        True,
    )
    for bad in ({"greeting": "<speak>Hi</speak>", "after_hours": True}, {"after_hours": "false"}, []):
        with pytest.raises(BadHandlerResponse):
            check_contact_response(bad)
