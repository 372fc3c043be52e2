"""Phone calls on the local stack: what Amazon Connect and Lex V2 keep for a call, and what a turn did.

A call starts the way Connect starts one: the inbound contact flow invokes the voice contact
function once (`functions/voice_contact/handler.handler`) and plays its greeting as Lex's first
prompt. Each caller turn is then one Lex V2 code-hook invocation of the voice turn function
(`functions/voice_turn/handler.handler`); like Lex, the local call keeps the session attributes the
last response returned and sends them with the next turn. A `Close` ends the Lex conversation: the
flow transfers the caller to the queue in `careline_transfer_queue` when the response sets it, and
disconnects otherwise. The caller may also hang up at any time. A call that ended takes no more turns.

`LocalStack` (careline_local.stack) owns the calls and runs the handlers; this module holds the
state and turns Lex responses into what a caller would hear, as plain text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from careline_local.stack import Outcome

# Session attributes the voice turn function sets on a Close, for the contact flow.
TRANSFER_QUEUE_ATTRIBUTE = "careline_transfer_queue"
ESCALATION_ID_ATTRIBUTE = "careline_escalation_id"
END_OF_CONVERSATION_ATTRIBUTE = "careline_end_of_conversation"
DIALOG_ACTIONS = frozenset({"Close", "ConfirmIntent", "Delegate", "ElicitIntent", "ElicitSlot"})

EndedBy = Literal["close", "transfer", "hangup"]

# SSML elements that are a pause when spoken: a space in text, so words on each side stay apart.
_PAUSE_TAGS = re.compile(r"<\s*/?\s*(?:break|p|s)\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([,.;:!?])")


class CallError(RuntimeError):
    """A call action that cannot happen (no such call, or the call already ended)."""


class UnknownCall(CallError):
    pass


class CallClosed(CallError):
    pass


class VoiceUnavailable(CallError):
    """A voice function this checkout does not have yet."""


class BadHandlerResponse(CallError):
    """A voice function returned something Lex or Connect would reject; names what is wrong."""


def ssml_to_text(content: str) -> str:
    """What an SSML document says, as plain text: tags removed (pauses become spaces), entities
    unescaped, whitespace collapsed."""
    text = _PAUSE_TAGS.sub(" ", content)
    text = _TAG.sub("", text)
    text = html.unescape(text)
    return " ".join(text.split())


def spoken_lines(response: Mapping[str, Any]) -> list[str]:
    """The messages of a Lex V2 response as plain text, in order (SSML and PlainText ones)."""
    lines = []
    for message in response.get("messages") or []:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if not isinstance(content, str):
            continue
        kind = message.get("contentType")
        if kind == "SSML":
            lines.append(ssml_to_text(content))
        elif kind == "PlainText":
            lines.append(" ".join(content.split()))
    return [line for line in lines if line]


def check_lex_response(response: Any) -> dict[str, Any]:
    """The voice turn function's return value, if it has the shape Lex needs; else BadHandlerResponse."""
    if not isinstance(response, dict):
        raise BadHandlerResponse(f"the voice turn function returned {type(response).__name__}, not a dict")
    state = response.get("sessionState")
    if not isinstance(state, dict):
        raise BadHandlerResponse("the Lex response has no sessionState object")
    action = state.get("dialogAction")
    if not isinstance(action, dict) or action.get("type") not in DIALOG_ACTIONS:
        raise BadHandlerResponse("sessionState.dialogAction.type is not a Lex V2 dialog action")
    attributes = state.get("sessionAttributes", {})
    if not isinstance(attributes, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in attributes.items()
    ):
        raise BadHandlerResponse("sessionState.sessionAttributes is not a string-to-string map")
    messages = response.get("messages", [])
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise BadHandlerResponse("messages is not a list of message objects")
    return response


def check_contact_response(result: Any) -> tuple[str, bool]:
    """The voice contact function's (greeting SSML, after hours), if Connect could use them."""
    if not isinstance(result, dict) or not all(isinstance(v, str) for v in result.values()):
        # A Connect flow's Lambda must return a flat map of strings.
        raise BadHandlerResponse("the voice contact function must return a flat string-to-string map")
    greeting = result.get("greeting")
    if not greeting:
        raise BadHandlerResponse("the voice contact function returned no `greeting`")
    after_hours = result.get("after_hours")
    if after_hours not in {"true", "false"}:
        raise BadHandlerResponse('`after_hours` is not "true" or "false"')
    return greeting, after_hours == "true"


@dataclass
class Call:
    """One call as Connect and Lex hold it: ids, numbers, the Lex session's attributes and state."""

    call_id: str  # the Connect contact id (and the Lex session id)
    caller: str
    dialed: str
    instance_arn: str | None
    started_at: datetime
    greeting: str
    after_hours: bool
    session_attributes: dict[str, str] = field(default_factory=dict)
    last_state: dict[str, Any] | None = None  # the last response's sessionState
    turns: int = 0
    ended_by: EndedBy | None = None
    transfer_queue: str | None = None
    escalation_id: str | None = None

    @property
    def ended(self) -> bool:
        return self.ended_by is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "from": self.caller,
            "to": self.dialed,
            "started_at": self.started_at.isoformat(),
            "after_hours": self.after_hours,
            "turns": self.turns,
            "ended": self.ended,
            "ended_by": self.ended_by,
            "transfer_queue": self.transfer_queue,
        }


@dataclass(frozen=True)
class CallStart:
    """A call just started: the greeting Lex plays first, and what starting it caused."""

    call_id: str
    greeting: str  # plain text
    greeting_ssml: str
    after_hours: bool
    outcome: Outcome

    def to_json(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "greeting": self.greeting,
            "greeting_ssml": self.greeting_ssml,
            "after_hours": self.after_hours,
            "sms": [m.to_json() for m in self.outcome.sent],
            "escalations": [e.to_json() for e in self.outcome.escalations],
        }


@dataclass(frozen=True)
class CallTurn:
    """One caller turn: what Lex would say (plain text), its raw response, and what it caused."""

    call_id: str
    mode: str
    spoken: list[str]
    lex_response: dict[str, Any]
    dialog_action: str
    ended: bool
    transfer_queue: str | None
    escalation_id: str | None
    outcome: Outcome

    def to_json(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "spoken": self.spoken,
            "dialog_action": self.dialog_action,
            "ended": self.ended,
            "transfer_queue": self.transfer_queue,
            "escalation_id": self.escalation_id,
            "lex_response": self.lex_response,
            "sms": [m.to_json() for m in self.outcome.sent],
            "escalations": [e.to_json() for e in self.outcome.escalations],
        }
