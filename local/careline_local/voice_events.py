"""Real-shaped phone-call events for the local runtime and the scenario runner.

Two kinds, each started from the repository's samples in `events/` (never invented fields):

- `lex_event(...)`: one Amazon Lex V2 code-hook event (`events/lex_v2_code_hook*.json`, one sample
  per input mode: Text, Speech, DTMF) for one caller turn, as Lex sends it when Amazon Connect's
  "Get customer input" block hands the caller to the bot:
  - `sessionId` is the Connect contact id (Connect starts the Lex session with it);
  - `sessionState.originatingRequestId` is a fresh uuid4 per caller turn (pass the same one again
    to stage Lex's retry of that turn);
  - `sessionState.sessionAttributes` are the attributes the previous response returned (Lex keeps
    them for the session) with the contact flow's own set again on top, as the flow sets them on
    every turn: `careline_contact_id`, `careline_caller_number`, `careline_dialed_number`,
    `careline_instance_arn`;
  - `interpretations` are what the bot, compiled from the same bot model as the text classifier
    (`infra/bot_model.py`: one Lex intent per model intent, named as in `careline.nlu.INTENTS`,
    plus `FallbackIntent`), would find: the classifier's top intent with its confidence, then
    `FallbackIntent`; below the bot's confidence threshold, or `out_of_scope`, `FallbackIntent`
    alone first and without `nluConfidence`, as Lex lists it;
  - `invocationSource` follows the bot's code hooks: a model intent has a dialog code hook
    (`DialogCodeHook`), `FallbackIntent` only a fulfillment one (`FulfillmentCodeHook`);
  - after an `ElicitSlot` response Lex stays in that intent and fills the elicited slot with the
    caller's words; after anything else it recognizes a new intent;
  - Speech carries `transcriptions` (with the ASR confidence given, else a clear-line default),
    DTMF carries the digits as its one transcription, at confidence 1.0.
- `contact_flow_event(...)`: the Amazon Connect contact-flow Lambda event ("ContactFlowEvent")
  the inbound flow sends the voice contact function once at call start, from
  `events/connect_contact_flow_*.json` when present (else the documented shape below).
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal

from careline.nlu import INTENTS, classify

from careline_local.paths import REPO_ROOT

EVENTS = REPO_ROOT / "events"
LEX_SAMPLES: Final = {
    "Text": EVENTS / "lex_v2_code_hook.json",
    "Speech": EVENTS / "lex_v2_code_hook_speech.json",
    "DTMF": EVENTS / "lex_v2_code_hook_dtmf.json",
}
CONTACT_FLOW_SAMPLES: Final = "connect_contact_flow_*.json"

InputMode = Literal["Text", "Speech", "DTMF"]

# The session attributes the inbound contact flow sets on every turn (see careline.channels.voice).
CONTACT_ID_ATTRIBUTE: Final = "careline_contact_id"
CALLER_NUMBER_ATTRIBUTE: Final = "careline_caller_number"
DIALED_NUMBER_ATTRIBUTE: Final = "careline_dialed_number"
INSTANCE_ARN_ATTRIBUTE: Final = "careline_instance_arn"
FLOW_ATTRIBUTES: Final = (
    CONTACT_ID_ATTRIBUTE,
    CALLER_NUMBER_ATTRIBUTE,
    DIALED_NUMBER_ATTRIBUTE,
    INSTANCE_ARN_ATTRIBUTE,
)

FALLBACK_INTENT: Final = "FallbackIntent"
# The bot's NLU confidence threshold (infra/voice.py NLU_CONFIDENCE_THRESHOLD, Lex's default):
# below it Lex puts FallbackIntent first. A unit test keeps the two equal.
NLU_CONFIDENCE_THRESHOLD: Final = 0.4
# The classifier's "nothing matched" label; the bot has the intent, but Lex would not pick it.
OUT_OF_SCOPE: Final = "out_of_scope"
# Lex's transcription confidence for a clear line, when a scenario or the page gives none.
DEFAULT_ASR_CONFIDENCE: Final = 0.93
# What Lex puts in `responseContentType` per input mode (text client vs Connect's audio stream).
RESPONSE_CONTENT_TYPES: Final = {
    "Text": "text/plain; charset=utf-8",
    "Speech": "audio/pcm",
    "DTMF": "audio/pcm",
}
# Used only when events/ holds no Connect contact-flow sample yet.
DEFAULT_INSTANCE_ARN: Final = (
    "arn:aws:connect:us-west-2:123456789012:instance/0b2f4d6e-1a3c-4e5f-8a7b-9c0d1e2f3a4b"
)


@cache
def _sample(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def lex_intent_names() -> tuple[str, ...]:
    """The bot's intents: one per bot-model intent (the classifier's labels), and the fallback."""
    return (*INTENTS, FALLBACK_INTENT)


def _intent(name: str, slots: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "slots": dict(slots or {}), "state": "InProgress", "confirmationState": "None"}


def interpretations_for(text: str) -> list[dict[str, Any]]:
    """Lex's `interpretations` for `text` (best first), from the bot-model classifier."""
    found = classify(text)
    confidence = round(found.confidence, 2)
    fallback: dict[str, Any] = {"interpretationSource": "Lex", "intent": _intent(FALLBACK_INTENT)}
    if found.intent == OUT_OF_SCOPE or found.confidence < NLU_CONFIDENCE_THRESHOLD:
        listed = [fallback]
        if found.intent != OUT_OF_SCOPE and confidence > 0:
            listed.append(
                {"interpretationSource": "Lex", "intent": _intent(found.intent), "nluConfidence": confidence}
            )
        return listed
    top: dict[str, Any] = {
        "interpretationSource": "Lex",
        "intent": _intent(found.intent),
        "nluConfidence": confidence,
    }
    return [top, fallback]


def _slot_value(text: str) -> dict[str, Any]:
    # The bot model defines no slot types, so Lex resolves a slot to what was said.
    value = {"originalValue": text, "interpretedValue": text, "resolvedValues": []}
    return {"shape": "Scalar", "value": value}


def lex_event(
    *,
    contact_id: str,
    caller: str,
    dialed: str,
    text: str,
    mode: InputMode = "Speech",
    session_attributes: Mapping[str, str] | None = None,
    previous_state: Mapping[str, Any] | None = None,
    asr_confidence: float | None = None,
    request_id: str | None = None,
    instance_arn: str | None = None,
) -> dict[str, Any]:
    """One Lex V2 code-hook event for a caller's turn (see the module docstring).

    `session_attributes` are those the previous response returned (none on the first turn);
    `previous_state` is that response's `sessionState` (its dialogAction and intent decide whether
    Lex stays in an intent to fill a slot). `text` is the transcript: the words for Text and Speech,
    the digits for DTMF. `request_id` defaults to a fresh uuid4 (give the same one for a retry).
    """
    if mode not in LEX_SAMPLES:
        raise ValueError(f"input mode is one of {', '.join(LEX_SAMPLES)}, not {mode!r}")
    if asr_confidence is not None and not 0.0 <= asr_confidence <= 1.0:
        raise ValueError("asr_confidence is between 0 and 1")
    event = copy.deepcopy(_sample(LEX_SAMPLES[mode]))
    sample_attributes = event["sessionState"].get("sessionAttributes") or {}

    attributes = dict(session_attributes or {})
    attributes.update(
        {
            CONTACT_ID_ATTRIBUTE: contact_id,
            CALLER_NUMBER_ATTRIBUTE: caller,
            DIALED_NUMBER_ATTRIBUTE: dialed,
            INSTANCE_ARN_ATTRIBUTE: instance_arn
            or attributes.get(INSTANCE_ARN_ATTRIBUTE)
            or sample_attributes.get(INSTANCE_ARN_ATTRIBUTE, DEFAULT_INSTANCE_ARN),
        }
    )

    previous_action = dict((previous_state or {}).get("dialogAction") or {})
    previous_intent = (previous_state or {}).get("intent") or None
    eliciting = previous_action.get("type") == "ElicitSlot"
    slot_to_elicit = previous_action.get("slotToElicit") if eliciting else None
    if slot_to_elicit and previous_intent:
        # Lex stays in the intent whose slot it elicited and fills the slot with the answer.
        slots = dict(previous_intent.get("slots") or {})
        slots[slot_to_elicit] = _slot_value(text)
        current = _intent(str(previous_intent["name"]), slots)
        interpretations: list[dict[str, Any]] = [
            {"interpretationSource": "Lex", "intent": current, "nluConfidence": 1.0}
        ]
        if current["name"] != FALLBACK_INTENT:
            interpretations.append({"interpretationSource": "Lex", "intent": _intent(FALLBACK_INTENT)})
    else:
        interpretations = interpretations_for(text)
        current = copy.deepcopy(interpretations[0]["intent"])
    source = "FulfillmentCodeHook" if current["name"] == FALLBACK_INTENT else "DialogCodeHook"

    event.update(
        {
            "invocationSource": source,
            "inputMode": mode,
            "responseContentType": RESPONSE_CONTENT_TYPES[mode],
            "sessionId": contact_id,
            "inputTranscript": text,
            "interpretations": interpretations,
            "proposedNextState": None,
        }
    )
    event["sessionState"] = {
        "activeContexts": [],
        "sessionAttributes": attributes,
        "dialogAction": (
            {k: v for k, v in previous_action.items() if k in {"type", "slotToElicit"}}
            if previous_action
            else None
        ),
        "intent": current,
        "originatingRequestId": request_id or str(uuid.uuid4()),
    }
    if mode == "Text":
        event.pop("transcriptions", None)
    else:
        if mode == "DTMF":
            confidence = 1.0
        else:
            confidence = DEFAULT_ASR_CONFIDENCE if asr_confidence is None else asr_confidence
        resolved = None if current["name"] == FALLBACK_INTENT else current["name"]
        event["transcriptions"] = [
            {
                "transcription": text,
                "transcriptionConfidence": round(confidence, 2),
                "resolvedContext": {"intent": resolved},
                "resolvedSlots": {},
            }
        ]
    return event


# -- Amazon Connect: the contact-flow Lambda event at call start -------------------------------------


def _contact_flow_sample() -> dict[str, Any]:
    samples = sorted(EVENTS.glob(CONTACT_FLOW_SAMPLES))
    if samples:
        # Prefer the plain call start (connect_contact_flow_call_start.json), else the first one.
        plain = [p for p in samples if "call_start" in p.name] or samples
        return copy.deepcopy(_sample(plain[0]))
    # The documented shape (Amazon Connect admin guide, "Grant Amazon Connect access to your AWS
    # Lambda functions": the JSON a flow's "Invoke AWS Lambda function" block sends).
    return {
        "Details": {
            "ContactData": {
                "Attributes": {},
                "AwsRegion": "us-west-2",
                "Channel": "VOICE",
                "ContactId": "",
                "CustomerEndpoint": {"Address": "", "Type": "TELEPHONE_NUMBER"},
                "CustomerId": None,
                "Description": None,
                "InitialContactId": "",
                "InitiationMethod": "INBOUND",
                "InstanceARN": DEFAULT_INSTANCE_ARN,
                "LanguageCode": "en-US",
                "MediaStreams": {"Customer": {"Audio": None}},
                "Name": None,
                "PreviousContactId": "",
                "Queue": None,
                "References": {},
                "RelatedContactId": None,
                "SystemEndpoint": {"Address": "", "Type": "TELEPHONE_NUMBER"},
            },
            "Parameters": {},
        },
        "Name": "ContactFlowEvent",
    }


def contact_flow_event(*, contact_id: str, caller: str, dialed: str) -> dict[str, Any]:
    """The contact-flow Lambda event for a new inbound call from `caller` to `dialed`."""
    event = _contact_flow_sample()
    data = event["Details"]["ContactData"]
    data.update(
        {
            "ContactId": contact_id,
            "InitialContactId": contact_id,
            "PreviousContactId": contact_id,
            "Channel": "VOICE",
            "InitiationMethod": "INBOUND",
            "Queue": None,
        }
    )
    for key, number in (("CustomerEndpoint", caller), ("SystemEndpoint", dialed)):
        data[key] = {**(data.get(key) or {}), "Address": number, "Type": "TELEPHONE_NUMBER"}
    data["Attributes"] = {}
    return event


def instance_arn_of(event: Mapping[str, Any]) -> str | None:
    """The Connect instance a contact-flow event names (the flow passes it on to Lex)."""
    value = event.get("Details", {}).get("ContactData", {}).get("InstanceARN")
    return value if isinstance(value, str) and value else None
