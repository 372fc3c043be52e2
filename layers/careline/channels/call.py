"""The phone line's side of a turn: what Lex is told to do after the engine has spoken.

The engine decides what to say; this module decides what the call does next, from the turn's
summary (no PHI) and its spoken replies:

- an escalation to a queue that is staffed right now (crisis: always; the others: per the practice
  config) ends the Lex conversation with `careline_transfer_queue` and `careline_escalation_id` set,
  and the contact flow puts the caller through to that queue, the agent seeing the escalation;
- an emergency ends the Lex conversation with no transfer: the caller has just been told to hang up
  and call 911, and a hold queue would only stand between them and that call (staff are alerted
  by the escalation all the same);
- a goodbye ends it too (`careline_end_of_conversation`, and the flow disconnects);
- anything else keeps listening (ElicitIntent), like a person would after answering.

Free of AWS: the handler feeds it the parsed event and the turn service's results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from careline.channels.voice import (
    END_OF_CONVERSATION_ATTRIBUTE,
    FALLBACK_INTENT,
    VoiceTurn,
    build_lex_response,
    to_ssml,
)
from careline.config import PracticeConfig
from careline.conversation.model import Channel, Queue, Urgency
from careline.practice.hours import queue_schedule

TRANSFER_QUEUE_ATTRIBUTE: Final = "careline_transfer_queue"
ESCALATION_ID_ATTRIBUTE: Final = "careline_escalation_id"
# what this module sets per turn; a new turn starts without the last one's
_TURN_ATTRIBUTES: Final = (TRANSFER_QUEUE_ATTRIBUTE, ESCALATION_ID_ATTRIBUTE, END_OF_CONVERSATION_ATTRIBUTE)
# the engine's own words already say the caller is being put through
_ANNOUNCES_TRANSFER: Final = frozenset({"handoff_in_hours"})
_URGENCY_ORDER: Final = {Urgency.EMERGENCY: 0, Urgency.CRISIS: 1, Urgency.URGENT: 2, Urgency.ROUTINE: 3}


@dataclass(frozen=True)
class Transfer:
    queue: Queue
    escalation_id: str


def transfer_for(summary: Mapping[str, Any], config: PracticeConfig, now: datetime) -> Transfer | None:
    """The queue to put the caller through to now, if the turn escalated to one that is staffed."""
    escalations = sorted(
        summary.get("escalations", []), key=lambda e: _URGENCY_ORDER.get(Urgency(e["urgency"]), 9)
    )
    for escalation in escalations:
        if escalation["urgency"] == Urgency.EMERGENCY:
            return None  # told to hang up and call 911: see the module docstring
        queue = Queue(escalation["queue"])
        if queue_schedule(config, queue).is_open(now):
            return Transfer(queue=queue, escalation_id=str(escalation["escalation_id"]))
    return None


def _emergency(summary: Mapping[str, Any]) -> bool:
    return any(e["urgency"] == Urgency.EMERGENCY for e in summary.get("escalations", []))


def _carried(turn: VoiceTurn) -> dict[str, str]:
    return {k: v for k, v in turn.session_attributes.items() if k not in _TURN_ATTRIBUTES}


def respond(
    turn: VoiceTurn,
    summary: Mapping[str, Any],
    spoken: Sequence[str],
    config: PracticeConfig,
    now: datetime,
) -> dict[str, Any]:
    """The Lex V2 response for a turn the engine decided (see the module docstring)."""
    messages = list(spoken) or [config.catalog.render("fallback_rephrase", Channel.VOICE)]
    attributes = _carried(turn)
    transfer = transfer_for(summary, config, now)
    if transfer is not None:
        if not _ANNOUNCES_TRANSFER & set(summary.get("reply_keys", [])):
            label = config.queue(transfer.queue).label
            messages.append(config.catalog.render("call_transferring", Channel.VOICE, queue_label=label))
        attributes[TRANSFER_QUEUE_ATTRIBUTE] = transfer.queue.value
        attributes[ESCALATION_ID_ATTRIBUTE] = transfer.escalation_id
        return build_lex_response(turn, messages, action="Close", session_attributes=attributes)
    if _emergency(summary) or summary.get("intent") == "goodbye":
        return build_lex_response(
            turn, messages, action="Close", session_attributes=attributes, end_of_conversation=True
        )
    return build_lex_response(turn, messages, action="ElicitIntent", session_attributes=attributes)


def nothing_heard(turn: VoiceTurn, config: PracticeConfig) -> dict[str, Any]:
    """An empty transcript (silence, a cough): ask again; nothing to record."""
    text = config.catalog.render("call_nothing_heard", Channel.VOICE)
    return build_lex_response(turn, [text], action="ElicitIntent", session_attributes=_carried(turn))


def trouble(turn: VoiceTurn, config: PracticeConfig) -> dict[str, Any]:
    """The turn could not be answered (a failure, or no time left): apologise and put the caller
    through to the front desk rather than leave dead air."""
    text = config.catalog.render("call_trouble", Channel.VOICE)
    attributes = _carried(turn)
    attributes[TRANSFER_QUEUE_ATTRIBUTE] = Queue.FRONT_DESK.value
    return build_lex_response(turn, [text], action="Close", session_attributes=attributes)


def unreadable(event: Any, config: PracticeConfig) -> dict[str, Any]:
    """A response for an event that is not a Lex V2 code-hook event Careline can read: the same
    apology and front-desk transfer, in the documented shape, keeping the string session
    attributes it carried (the contact flow needs its own)."""
    attributes: dict[str, str] = {}
    state = event.get("sessionState") if isinstance(event, dict) else None
    raw = state.get("sessionAttributes") if isinstance(state, dict) else None
    if isinstance(raw, dict):
        attributes = {
            k: v
            for k, v in raw.items()
            if isinstance(k, str) and k and isinstance(v, str) and k not in _TURN_ATTRIBUTES
        }
    attributes[TRANSFER_QUEUE_ATTRIBUTE] = Queue.FRONT_DESK.value
    text = config.catalog.render("call_trouble", Channel.VOICE)
    return {
        "sessionState": {
            "sessionAttributes": attributes,
            "dialogAction": {"type": "Close"},
            "intent": {"name": FALLBACK_INTENT, "state": "Failed"},
        },
        "messages": [{"contentType": "SSML", "content": to_ssml(text)}],
    }
