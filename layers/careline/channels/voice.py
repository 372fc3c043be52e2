"""Parse an Amazon Lex V2 code-hook event (a phone call through Amazon Connect) into a `VoiceTurn`,
and build the Lex V2 response that answers it.

Where each field comes from (Lex V2 developer guide, "AWS Lambda input event format for Lex V2" and
"AWS Lambda response format for Lex V2"; Amazon Connect admin guide, "Get customer input" and
"How flow blocks use Amazon Lex session attributes"):

- `messageVersion` ("1.0"), `invocationSource` (DialogCodeHook | FulfillmentCodeHook), `inputMode`
  (Text | Speech | DTMF), `responseContentType`, `sessionId`, `inputTranscript`, `bot`,
  `interpretations` (best first: `intent` {name, slots, state, confirmationState}, `nluConfidence`,
  absent or null for FallbackIntent), `proposedNextState`, `requestAttributes`, `sessionState`
  {activeContexts, sessionAttributes, dialogAction, intent, originatingRequestId} and, for speech,
  `transcriptions` [{transcription, transcriptionConfidence, resolvedContext, resolvedSlots}]: Lex.
- `requestAttributes["x-amz-lex:channels:platform"]` ("Connect" for a call, "Connect Chat" for chat)
  and `requestAttributes["x-amz-lex:accept-content-types"]` ("PlainText,SSML"): Lex, on Connect's
  behalf. The `x-amz-lex:` namespace is reserved; Careline never writes into it.
- The contact id and the caller's and dialed numbers are NOT passed by Connect on its own. Careline's
  inbound contact flow sets them as Lex session attributes in its "Get customer input" block
  (`LexSessionAttributes` of the ConnectParticipantWithLexBot action) from Connect's system contact
  attributes: `careline_contact_id` <- `$.ContactId`, `careline_caller_number` <-
  `$.CustomerEndpoint.Address`, `careline_dialed_number` <- `$.SystemEndpoint.Address`. Session
  attributes are string to string and persist for the Lex session, so every later turn carries them.
  Careline reads the attribute it set and does not assume the Lex `sessionId` equals the contact id.

Anything malformed raises `MalformedEventError` whose reason names fields and kinds of problem only,
never a submitted value: transcripts, numbers and slot values are PHI.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Literal, TypeVar
from xml.sax.saxutils import escape

from careline.config import E164_PATTERN
from careline.conversation.model import Channel, InboundMessage
from careline.errors import MalformedEventError

# Session attributes Careline's contact flow sets from Connect's system attributes (see above).
CONTACT_ID_ATTRIBUTE = "careline_contact_id"
CALLER_NUMBER_ATTRIBUTE = "careline_caller_number"
DIALED_NUMBER_ATTRIBUTE = "careline_dialed_number"
# Set on the final Close so the contact flow disconnects after Lex plays the goodbye.
END_OF_CONVERSATION_ATTRIBUTE = "careline_end_of_conversation"

ACCEPT_CONTENT_TYPES = "x-amz-lex:accept-content-types"
PLATFORM = "x-amz-lex:channels:platform"

# Lex caps text input at 1,024 characters; anything far beyond is not one caller's turn.
MAX_TRANSCRIPT_CHARS = 5_000
MAX_ID_CHARS = 200
MAX_SESSION_ATTRIBUTES = 100
MAX_ATTRIBUTE_CHARS = 1_024
MAX_INTERPRETATIONS = 25
MAX_TRANSCRIPTIONS = 10

_E = TypeVar("_E", bound=StrEnum)

_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:/+=\-]+$")
_E164 = re.compile(E164_PATTERN)
# Characters XML 1.0 cannot carry at all; SSML is XML, so they are dropped, never escaped.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class InputMode(StrEnum):
    TEXT = "Text"
    SPEECH = "Speech"
    DTMF = "DTMF"


class InvocationSource(StrEnum):
    DIALOG = "DialogCodeHook"
    FULFILLMENT = "FulfillmentCodeHook"


@dataclass(frozen=True)
class Transcription:
    """One of Lex's speech-recognition alternatives (the first is what `inputTranscript` holds)."""

    text: str
    confidence: float | None


@dataclass(frozen=True)
class VoiceTurn:
    """One caller turn as Lex delivered it to the code hook.

    `message.message_id` is `voice:<contact id>:<originatingRequestId>` (Lex re-sends the same
    request id when it retries the hook), else a hash of the session, mode and transcript.
    `session_attributes` are the string attributes Lex carries for the call (contact flow's and
    Careline's own). `intent_name`/`intent_slots` are the session's active intent (else the top
    interpretation's), needed to answer with Close or ElicitSlot. Slot values are PHI.
    """

    message: InboundMessage
    input_mode: InputMode
    invocation_source: InvocationSource
    contact_id: str
    session_id: str
    originating_request_id: str | None
    session_attributes: Mapping[str, str]
    top_intent: str | None
    top_confidence: float | None
    intent_name: str | None
    intent_slots: Mapping[str, Any]
    transcriptions: tuple[Transcription, ...]
    accepts_ssml: bool
    platform: str | None


def _fail(reason: str) -> MalformedEventError:
    return MalformedEventError(f"Lex V2 event: {reason}")


def _object(value: Any, where: str, *, optional: bool = False) -> dict[str, Any]:
    if value is None and optional:
        return {}
    if not isinstance(value, dict):
        raise _fail(f"{where} is not an object")
    return value


def _string(value: Any, where: str, *, max_chars: int = MAX_ID_CHARS, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise _fail(f"{where} is not a string")
    if not value and not allow_empty:
        raise _fail(f"{where} is empty")
    if len(value) > max_chars:
        raise _fail(f"{where} longer than {max_chars} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # JSON can carry lone surrogates; nothing downstream can store them
        raise _fail(f"{where} is not valid Unicode") from None
    return value


def _identifier(value: Any, where: str) -> str:
    text = _string(value, where)
    if not _ID_PATTERN.fullmatch(text):
        raise _fail(f"{where} has characters an identifier cannot have")
    return text


def _confidence(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(f"{where} is not a number")
    number = float(value)
    if not math.isfinite(number) or not 0.0 <= number <= 1.0:
        raise _fail(f"{where} is not between 0 and 1")
    return number


def _string_map(value: Any, where: str) -> dict[str, str]:
    mapping = _object(value, where, optional=True)
    if len(mapping) > MAX_SESSION_ATTRIBUTES:
        raise _fail(f"{where} has more than {MAX_SESSION_ATTRIBUTES} entries")
    result: dict[str, str] = {}
    for key, item in mapping.items():
        # keys are names, not values, but a hostile key is still never quoted
        name = _string(key, f"{where} key", max_chars=MAX_ATTRIBUTE_CHARS)
        result[name] = _string(item, f"{where} value", max_chars=MAX_ATTRIBUTE_CHARS, allow_empty=True)
    return result


def _e164(attributes: Mapping[str, str], key: str) -> str:
    if key not in attributes:
        raise _fail(f"sessionState.sessionAttributes.{key} is missing")
    if not _E164.fullmatch(attributes[key]):
        raise _fail(f"sessionState.sessionAttributes.{key} is not an E.164 number")
    return attributes[key]


def _intent(value: Any, where: str) -> tuple[str, dict[str, Any]]:
    intent = _object(value, where)
    name = _identifier(intent.get("name"), f"{where}.name")
    slots = _object(intent.get("slots"), f"{where}.slots", optional=True)
    for slot_name, slot in slots.items():
        _string(slot_name, f"{where}.slots key")
        if slot is not None and not isinstance(slot, dict):
            raise _fail(f"{where}.slots entry is not an object")
    return name, slots


def _top_interpretation(value: Any) -> tuple[str | None, float | None, dict[str, Any]]:
    if value is None:
        return None, None, {}
    if not isinstance(value, list):
        raise _fail("interpretations is not a list")
    if len(value) > MAX_INTERPRETATIONS:
        raise _fail(f"interpretations has more than {MAX_INTERPRETATIONS} entries")
    top: tuple[str | None, float | None, dict[str, Any]] = (None, None, {})
    for index, item in enumerate(value):
        where = f"interpretations[{index}]"
        interpretation = _object(item, where)
        name, slots = _intent(interpretation.get("intent"), f"{where}.intent")
        confidence = _confidence(interpretation.get("nluConfidence"), f"{where}.nluConfidence")
        if index == 0:
            # Lex lists interpretations best first
            top = (name, confidence, slots)
    return top


def _transcriptions(value: Any) -> tuple[Transcription, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _fail("transcriptions is not a list")
    if len(value) > MAX_TRANSCRIPTIONS:
        raise _fail(f"transcriptions has more than {MAX_TRANSCRIPTIONS} entries")
    result = []
    for index, item in enumerate(value):
        where = f"transcriptions[{index}]"
        entry = _object(item, where)
        text = _string(
            entry.get("transcription"),
            f"{where}.transcription",
            max_chars=MAX_TRANSCRIPT_CHARS,
            allow_empty=True,
        )
        confidence = _confidence(entry.get("transcriptionConfidence"), f"{where}.transcriptionConfidence")
        result.append(Transcription(text=text, confidence=confidence))
    return tuple(result)


def _enum(kind: type[_E], value: Any, where: str) -> _E:
    if not isinstance(value, str):
        raise _fail(f"{where} is not a string")
    try:
        return kind(value)
    except ValueError:
        raise _fail(f"{where} is not one of {', '.join(kind)}") from None


def _message_id(
    contact_id: str, session_id: str, request_id: str | None, mode: InputMode, transcript: str
) -> str:
    if request_id is not None:
        return f"voice:{contact_id}:{request_id}"
    digest = hashlib.sha256("\x1f".join((session_id, mode.value, transcript)).encode("utf-8")).hexdigest()
    return f"voice:{contact_id}:h{digest[:32]}"


def parse_lex_event(event: Any, *, received_at: datetime | None = None) -> VoiceTurn:
    """A Lex V2 code-hook event (as Lambda delivers it) -> `VoiceTurn` with an `InboundMessage(voice)`.

    `received_at` (timezone-aware) is the handler's clock; Lex events carry no timestamp.
    Raises `MalformedEventError` (never retried) for anything that is not such an event.
    """
    if not isinstance(event, dict):
        raise _fail("event is not an object")
    if event.get("messageVersion") != "1.0":
        raise _fail("messageVersion is not 1.0")
    source = _enum(InvocationSource, event.get("invocationSource"), "invocationSource")
    mode = _enum(InputMode, event.get("inputMode"), "inputMode")
    session_id = _identifier(event.get("sessionId"), "sessionId")
    transcript = _string(
        event.get("inputTranscript"), "inputTranscript", max_chars=MAX_TRANSCRIPT_CHARS, allow_empty=True
    )
    _object(event.get("bot"), "bot")
    top_intent, top_confidence, top_slots = _top_interpretation(event.get("interpretations"))
    request_attributes = _string_map(event.get("requestAttributes"), "requestAttributes")

    state = _object(event.get("sessionState"), "sessionState")
    attributes = _string_map(state.get("sessionAttributes"), "sessionState.sessionAttributes")
    if CONTACT_ID_ATTRIBUTE not in attributes:
        raise _fail(f"sessionState.sessionAttributes.{CONTACT_ID_ATTRIBUTE} is missing")
    contact_id = _identifier(
        attributes[CONTACT_ID_ATTRIBUTE], f"sessionState.sessionAttributes.{CONTACT_ID_ATTRIBUTE}"
    )
    caller = _e164(attributes, CALLER_NUMBER_ATTRIBUTE)
    dialed = _e164(attributes, DIALED_NUMBER_ATTRIBUTE)
    request_id = state.get("originatingRequestId")
    if request_id is not None:
        request_id = _identifier(request_id, "sessionState.originatingRequestId")
    if state.get("intent") is not None:
        intent_name: str | None
        intent_name, intent_slots = _intent(state["intent"], "sessionState.intent")
    else:
        intent_name, intent_slots = top_intent, top_slots
    transcriptions = _transcriptions(event.get("transcriptions"))

    at = received_at if received_at is not None else datetime.now(UTC)
    if at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    accept = request_attributes.get(ACCEPT_CONTENT_TYPES)
    accepts_ssml = accept is None or "SSML" in {part.strip() for part in accept.split(",")}
    return VoiceTurn(
        message=InboundMessage(
            message_id=_message_id(contact_id, session_id, request_id, mode, transcript),
            channel=Channel.VOICE,
            from_number=caller,
            to_number=dialed,
            text=transcript,
            received_at=at.astimezone(UTC),
            session_id=contact_id,
        ),
        input_mode=mode,
        invocation_source=source,
        contact_id=contact_id,
        session_id=session_id,
        originating_request_id=request_id,
        session_attributes=MappingProxyType(attributes),
        top_intent=top_intent,
        top_confidence=top_confidence,
        intent_name=intent_name,
        intent_slots=MappingProxyType(intent_slots),
        transcriptions=transcriptions,
        accepts_ssml=accepts_ssml,
        platform=request_attributes.get(PLATFORM),
    )


# A US phone number as the catalog writes it ("(503) 555-0100"), read digit by digit in groups.
_PHONE = re.compile(r"\(\d{3}\) \d{3}-\d{4}|\+1\d{10}\b")


def to_ssml(text: str) -> str:
    """Plain text as one SSML document: XML-escaped, characters XML cannot carry dropped, and
    phone numbers marked `<say-as interpret-as="telephone">` so they are read as a number to dial,
    not as an amount ("five hundred three ...")."""
    escaped = escape(_XML_ILLEGAL.sub("", text))
    spoken = _PHONE.sub(lambda m: f'<say-as interpret-as="telephone">{m.group(0)}</say-as>', escaped)
    return f"<speak>{spoken}</speak>"


FALLBACK_INTENT = "FallbackIntent"


def build_lex_response(
    turn: VoiceTurn,
    messages: Sequence[str],
    *,
    action: Literal["ElicitIntent", "Close", "ElicitSlot"],
    session_attributes: Mapping[str, str],
    slot_to_elicit: str | None = None,
    ssml: bool = True,
    end_of_conversation: bool = False,
) -> dict[str, Any]:
    """The Lex V2 code-hook response for `turn`.

    Messages are SSML (`<speak>`, escaped) when `ssml` and the client accepts SSML, else PlainText.
    Close and ElicitSlot carry the intent block Lex requires (the turn's active intent, else
    FallbackIntent): Close as Fulfilled, ElicitSlot as InProgress with the slot present.
    `end_of_conversation` (Close only) sets `careline_end_of_conversation=true` for the contact flow.
    Raises `ValueError` for a response Lex would reject.
    """
    if action not in ("ElicitIntent", "Close", "ElicitSlot"):
        raise ValueError("unsupported dialog action")
    if action == "ElicitIntent" and not messages:
        raise ValueError("ElicitIntent needs at least one message")
    if (action == "ElicitSlot") != (slot_to_elicit is not None):
        raise ValueError("slot_to_elicit is required for ElicitSlot and only for it")
    if end_of_conversation and action != "Close":
        raise ValueError("end_of_conversation needs action Close")
    attributes: dict[str, str] = {}
    for key, value in session_attributes.items():
        if not isinstance(key, str) or not key or not isinstance(value, str):
            raise ValueError("session attributes must be non-empty string keys with string values")
        attributes[key] = value
    if end_of_conversation:
        attributes[END_OF_CONVERSATION_ATTRIBUTE] = "true"

    dialog_action: dict[str, Any] = {"type": action}
    session_state: dict[str, Any] = {"sessionAttributes": attributes, "dialogAction": dialog_action}
    if action in ("Close", "ElicitSlot"):
        slots = dict(turn.intent_slots)
        if slot_to_elicit is not None:
            dialog_action["slotToElicit"] = slot_to_elicit
            slots.setdefault(slot_to_elicit, None)
        session_state["intent"] = {
            "name": turn.intent_name or FALLBACK_INTENT,
            "slots": slots,
            "state": "Fulfilled" if action == "Close" else "InProgress",
        }

    response: dict[str, Any] = {"sessionState": session_state}
    if messages:
        use_ssml = ssml and turn.accepts_ssml
        response["messages"] = [
            {"contentType": "SSML", "content": to_ssml(text)}
            if use_ssml
            else {"contentType": "PlainText", "content": text}
            for text in messages
        ]
    return response
