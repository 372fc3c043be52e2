"""The documented shape of a Lex V2 code-hook response, as a checker shared by every test that
builds or receives one (the channel's builder, the call decisions, the voice_turn handler)."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

# ---------------------------------------------------------------- the documented response shape
# Hand-written from "AWS Lambda response format for Lex V2" and its common structures.
DIALOG_ACTION_TYPES = {"Close", "ConfirmIntent", "Delegate", "ElicitIntent", "ElicitSlot"}
CONTENT_TYPES = {"PlainText", "SSML", "CustomPayload", "ImageResponseCard"}
INTENT_STATES = {
    "Failed",
    "Fulfilled",
    "FulfillmentInProgress",
    "InProgress",
    "ReadyForFulfillment",
    "Waiting",
}
CONFIRMATION_STATES = {"Confirmed", "Denied", "None"}
ELICITATION_STYLES = {"Default", "SpellByLetter", "SpellByWord"}


def response_errors(response: Any) -> list[str]:
    errors: list[str] = []

    def need(ok: bool, message: str) -> None:
        if not ok:
            errors.append(message)

    def string_map(value: Any, where: str) -> None:
        need(isinstance(value, dict), f"{where} is an object")
        if isinstance(value, dict):
            for key, item in value.items():
                need(isinstance(key, str) and key != "", f"{where} keys are non-empty strings")
                need(isinstance(item, str), f"{where} values are strings")

    need(isinstance(response, dict), "response is an object")
    if not isinstance(response, dict):
        return errors
    need(set(response) <= {"sessionState", "messages", "requestAttributes"}, "no unknown top-level keys")
    state = response.get("sessionState")
    need(isinstance(state, dict), "sessionState is required and an object")
    if not isinstance(state, dict):
        return errors
    need(
        set(state)
        <= {
            "activeContexts",
            "sessionAttributes",
            "dialogAction",
            "intent",
            "originatingRequestId",
            "runtimeHints",
        },
        "no unknown sessionState keys",
    )
    if "sessionAttributes" in state:
        string_map(state["sessionAttributes"], "sessionAttributes")
    action = state.get("dialogAction")
    need(isinstance(action, dict), "dialogAction is an object")
    action_type = action.get("type") if isinstance(action, dict) else None
    need(action_type in DIALOG_ACTION_TYPES, "dialogAction.type is a documented type")
    if isinstance(action, dict):
        need(
            set(action) <= {"type", "slotToElicit", "slotElicitationStyle", "subSlotToElicit"},
            "dialogAction keys",
        )
        if "slotElicitationStyle" in action:
            need(action["slotElicitationStyle"] in ELICITATION_STYLES, "slotElicitationStyle is documented")
    intent = state.get("intent")
    if action_type in {"Close", "ConfirmIntent", "Delegate", "ElicitSlot"}:
        need(isinstance(intent, dict), f"{action_type} carries an intent")
    if action_type == "ElicitSlot":
        slot = action.get("slotToElicit") if isinstance(action, dict) else None
        need(isinstance(slot, str) and slot != "", "ElicitSlot names slotToElicit")
        if isinstance(intent, dict) and isinstance(intent.get("slots"), dict):
            need(slot in intent["slots"], "the elicited slot is among the intent's slots")
    if intent is not None:
        need(isinstance(intent, dict), "intent is an object")
        if isinstance(intent, dict):
            need(isinstance(intent.get("name"), str) and intent["name"] != "", "intent.name is a string")
            need(isinstance(intent.get("slots", {}), dict), "intent.slots is an object")
            if "state" in intent:
                need(intent["state"] in INTENT_STATES, "intent.state is documented")
            if "confirmationState" in intent:
                need(
                    intent["confirmationState"] in CONFIRMATION_STATES,
                    "intent.confirmationState is documented",
                )
    messages = response.get("messages")
    if action_type in {"ElicitIntent", "ConfirmIntent"}:
        need(isinstance(messages, list) and len(messages) > 0, f"{action_type} carries messages")
    if messages is not None:
        need(isinstance(messages, list), "messages is a list")
        for message in messages if isinstance(messages, list) else []:
            need(isinstance(message, dict), "a message is an object")
            if not isinstance(message, dict):
                continue
            kind = message.get("contentType")
            need(kind in CONTENT_TYPES, "message.contentType is documented")
            if kind in {"PlainText", "SSML", "CustomPayload"}:
                need(isinstance(message.get("content"), str), "message.content is a string")
            if kind == "SSML" and isinstance(message.get("content"), str):
                try:
                    root = ElementTree.fromstring(message["content"])
                    need(root.tag == "speak", "SSML is one <speak> document")
                except ElementTree.ParseError:
                    errors.append("SSML is well-formed XML")
    if "requestAttributes" in response:
        string_map(response["requestAttributes"], "requestAttributes")
    return errors
