"""The phone line's inbound contact flow, written in Amazon Connect's flow language.

`inbound_flow(targets)` returns the flow as data (Version 2019-10-30: `StartAction`, `Actions` with
`Identifier`, `Type`, `Parameters`, `Transitions`), which `infra/contact_center.py` serializes into
the `AWS::Connect::ContactFlow` Content. Action types and parameter names follow AWS's flow-language
reference (Amazon Connect API Reference, "Actions in the Amazon Connect Flow language").

What a call goes through:

1. flow logs on, when the practice asked for them (`UpdateFlowLoggingBehavior`);
2. the voice contact function builds the greeting (`InvokeLambdaFunction`, a flat string map whose
   `greeting` is SSML); it is kept as the contact attribute `careline_greeting`, or, if the function
   fails, the practice's plain greeting is kept instead: the caller is greeted either way;
3. the caller talks with the Lex V2 bot (`ConnectParticipantWithLexBot`, the greeting as its first
   prompt), whose code hook runs every turn through the conversation engine. The contact id and both
   numbers go to Lex as session attributes, which is how the engine learns who is calling. After
   hours the caller still gets self-service and the safety screen here: only a transfer depends on
   staffing, and the engine decides it;
4. when Lex closes the conversation, the session attribute `careline_transfer_queue` says what next:
   a queue name records the escalation on the contact, sets that working queue and transfers the
   call to it; no value (a goodbye, or a call back promised after hours) hangs up;
5. anything failing goes to one kind path: while the front desk is open, a short apology and a
   transfer to the front desk; when it is closed, or that transfer fails too, an apology with the
   emergency numbers, then a hang-up. No branch loops back or leaves the caller in silence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from careline.channels.call import ESCALATION_ID_ATTRIBUTE, TRANSFER_QUEUE_ATTRIBUTE
from careline.channels.voice import (
    CALLER_NUMBER_ATTRIBUTE,
    CONTACT_ID_ATTRIBUTE,
    DIALED_NUMBER_ATTRIBUTE,
)
from careline.conversation.model import Queue

FLOW_LANGUAGE_VERSION = "2019-10-30"

# What the voice turn function leaves in the Lex session on its final Close: TRANSFER_QUEUE_ATTRIBUTE
# and ESCALATION_ID_ATTRIBUTE (careline.channels.call).
# The contact attribute holding the greeting (SSML) Lex plays first.
GREETING_ATTRIBUTE = "careline_greeting"
# Connect waits at most 8 s for a flow Lambda; the greeting is one config read.
VOICE_CONTACT_TIMEOUT_SECONDS = 3

# The Lex session attributes the flow hands the bot, from Connect's system attributes
# (careline.channels.voice reads them on every turn).
LEX_SESSION_ATTRIBUTES: Mapping[str, str] = {
    CONTACT_ID_ATTRIBUTE: "$.ContactId",
    CALLER_NUMBER_ATTRIBUTE: "$.CustomerEndpoint.Address",
    DIALED_NUMBER_ATTRIBUTE: "$.SystemEndpoint.Address",
}

# Action identifiers: readable in the flow designer and in flow logs.
START_LOGGING = "start-flow-logs"
LOOK_UP_GREETING = "look-up-greeting"
KEEP_GREETING = "keep-greeting"
KEEP_PLAIN_GREETING = "keep-plain-greeting"
TALK_WITH_BOT = "talk-with-bot"
CHECK_TRANSFER = "check-transfer"
HANG_UP = "hang-up"
TROUBLE = "trouble-check-front-desk-hours"
TROUBLE_IN_HOURS = "trouble-apologize"
FALLBACK_SET_QUEUE = "trouble-set-front-desk"
FALLBACK_TRANSFER = "trouble-transfer-front-desk"
TROUBLE_CLOSED = "trouble-apologize-closed"

# Errors each action type can take, per the flow-language reference; every one is routed.
ACTION_ERRORS: Mapping[str, tuple[str, ...]] = {
    "UpdateFlowLoggingBehavior": (),
    "InvokeLambdaFunction": ("NoMatchingError",),
    "UpdateContactAttributes": ("NoMatchingError",),
    "ConnectParticipantWithLexBot": ("NoMatchingCondition", "NoMatchingError", "InputTimeLimitExceeded"),
    "Compare": ("NoMatchingCondition",),
    "UpdateContactTargetQueue": ("NoMatchingError",),
    "TransferContactToQueue": ("QueueAtCapacity", "NoMatchingError"),
    "CheckHoursOfOperation": ("NoMatchingError",),
    "MessageParticipant": ("NoMatchingError",),
    "DisconnectParticipant": (),
}
# Actions that end the flow: their Transitions must be empty.
TERMINAL_ACTIONS = frozenset({"DisconnectParticipant"})


@dataclass(frozen=True)
class FlowTargets:
    """What the flow points at (ARNs may be CloudFormation tokens) and the words it speaks itself.

    The bot speaks everything else; the flow's own words are for when the greeting function or the
    bot cannot answer.
    """

    voice_contact_function_arn: str
    bot_alias_arn: str
    queue_arns: Mapping[Queue, str]
    front_desk_hours_arn: str
    plain_greeting_ssml: str
    trouble_text: str
    trouble_closed_text: str
    flow_logs: bool = False


def inbound_flow(targets: FlowTargets) -> dict[str, Any]:
    """The inbound contact flow (type CONTACT_FLOW) as a flow-language document."""
    missing = [queue.value for queue in Queue if queue not in targets.queue_arns]
    if missing:
        raise ValueError(f"no queue ARN for: {', '.join(missing)}")

    actions: list[dict[str, Any]] = []
    if targets.flow_logs:
        actions.append(
            _action(
                START_LOGGING,
                "UpdateFlowLoggingBehavior",
                {"FlowLoggingBehavior": "Enabled"},
                next_action=LOOK_UP_GREETING,
            )
        )
    actions += _greeting(targets)
    actions.append(_talk_with_bot(targets))
    actions.append(_check_transfer())
    for queue in Queue:
        actions += _transfer_to(queue, targets.queue_arns[queue])
    actions += _trouble(targets)
    actions.append(_action(HANG_UP, "DisconnectParticipant", {}))

    start = START_LOGGING if targets.flow_logs else LOOK_UP_GREETING
    return {
        "Version": FLOW_LANGUAGE_VERSION,
        "StartAction": start,
        "Metadata": _layout(start, actions),
        "Actions": actions,
    }


def _greeting(targets: FlowTargets) -> list[dict[str, Any]]:
    return [
        _action(
            LOOK_UP_GREETING,
            "InvokeLambdaFunction",
            {
                "LambdaFunctionARN": targets.voice_contact_function_arn,
                "InvocationTimeLimitSeconds": str(VOICE_CONTACT_TIMEOUT_SECONDS),
                "InvocationType": "SYNCHRONOUS",
                "ResponseValidation": {"ResponseType": "STRING_MAP"},
            },
            next_action=KEEP_GREETING,
            errors={"NoMatchingError": KEEP_PLAIN_GREETING},
        ),
        _action(
            KEEP_GREETING,
            "UpdateContactAttributes",
            {"TargetContact": "Current", "Attributes": {GREETING_ATTRIBUTE: "$.External.greeting"}},
            next_action=TALK_WITH_BOT,
            errors={"NoMatchingError": KEEP_PLAIN_GREETING},
        ),
        _action(
            KEEP_PLAIN_GREETING,
            "UpdateContactAttributes",
            {"TargetContact": "Current", "Attributes": {GREETING_ATTRIBUTE: targets.plain_greeting_ssml}},
            next_action=TALK_WITH_BOT,
            errors={"NoMatchingError": TROUBLE},
        ),
    ]


def _talk_with_bot(targets: FlowTargets) -> dict[str, Any]:
    # Connect ends this action when Lex closes the conversation; whichever way it reports a
    # finished conversation (the default transition, or no matching condition), the flow reads
    # what the engine decided next.
    return _action(
        TALK_WITH_BOT,
        "ConnectParticipantWithLexBot",
        {
            "SSML": f"$.Attributes.{GREETING_ATTRIBUTE}",
            "LexV2Bot": {"AliasArn": targets.bot_alias_arn},
            "LexSessionAttributes": dict(LEX_SESSION_ATTRIBUTES),
        },
        next_action=CHECK_TRANSFER,
        errors={
            "NoMatchingCondition": CHECK_TRANSFER,
            "NoMatchingError": TROUBLE,
            "InputTimeLimitExceeded": TROUBLE,
        },
    )


def _check_transfer() -> dict[str, Any]:
    # No queue named (the caller said goodbye, or the engine promised a call back): hang up.
    return _action(
        CHECK_TRANSFER,
        "Compare",
        {"ComparisonValue": f"$.Lex.SessionAttributes.{TRANSFER_QUEUE_ATTRIBUTE}"},
        next_action=HANG_UP,
        errors={"NoMatchingCondition": HANG_UP},
        conditions={queue.value: _note_escalation(queue) for queue in Queue},
    )


def _note_escalation(queue: Queue) -> str:
    return f"note-escalation-{queue.value}"


def set_queue_action(queue: Queue) -> str:
    """The identifier of the action that sets `queue` as the working queue."""
    return f"set-queue-{queue.value}"


def transfer_action(queue: Queue) -> str:
    """The identifier of the action that transfers the call to `queue`."""
    return f"transfer-{queue.value}"


def _transfer_to(queue: Queue, queue_arn: str) -> list[dict[str, Any]]:
    return [
        # The agent sees which escalation the call belongs to; a failure here must not cost the
        # caller the transfer.
        _action(
            _note_escalation(queue),
            "UpdateContactAttributes",
            {
                "TargetContact": "Current",
                "Attributes": {
                    TRANSFER_QUEUE_ATTRIBUTE: queue.value,
                    ESCALATION_ID_ATTRIBUTE: f"$.Lex.SessionAttributes.{ESCALATION_ID_ATTRIBUTE}",
                },
            },
            next_action=set_queue_action(queue),
            errors={"NoMatchingError": set_queue_action(queue)},
        ),
        _action(
            set_queue_action(queue),
            "UpdateContactTargetQueue",
            {"QueueId": queue_arn},
            next_action=transfer_action(queue),
            errors={"NoMatchingError": TROUBLE},
        ),
        _action(
            transfer_action(queue),
            "TransferContactToQueue",
            {},
            next_action=TROUBLE,
            errors={"QueueAtCapacity": TROUBLE, "NoMatchingError": TROUBLE},
        ),
    ]


def _trouble(targets: FlowTargets) -> list[dict[str, Any]]:
    front_desk = targets.queue_arns[Queue.FRONT_DESK]
    return [
        # A queue nobody staffs would leave the caller on hold music until they give up.
        _action(
            TROUBLE,
            "CheckHoursOfOperation",
            {"HoursOfOperationId": targets.front_desk_hours_arn},
            next_action=TROUBLE_CLOSED,
            errors={"NoMatchingError": TROUBLE_IN_HOURS},
            conditions={"True": TROUBLE_IN_HOURS, "False": TROUBLE_CLOSED},
        ),
        _action(
            TROUBLE_IN_HOURS,
            "MessageParticipant",
            {"Text": targets.trouble_text},
            next_action=FALLBACK_SET_QUEUE,
            errors={"NoMatchingError": FALLBACK_SET_QUEUE},
        ),
        _action(
            FALLBACK_SET_QUEUE,
            "UpdateContactTargetQueue",
            {"QueueId": front_desk},
            next_action=FALLBACK_TRANSFER,
            errors={"NoMatchingError": TROUBLE_CLOSED},
        ),
        _action(
            FALLBACK_TRANSFER,
            "TransferContactToQueue",
            {},
            next_action=TROUBLE_CLOSED,
            errors={"QueueAtCapacity": TROUBLE_CLOSED, "NoMatchingError": TROUBLE_CLOSED},
        ),
        _action(
            TROUBLE_CLOSED,
            "MessageParticipant",
            {"Text": targets.trouble_closed_text},
            next_action=HANG_UP,
            errors={"NoMatchingError": HANG_UP},
        ),
    ]


def _action(
    identifier: str,
    action_type: str,
    parameters: Mapping[str, Any],
    *,
    next_action: str | None = None,
    errors: Mapping[str, str] | None = None,
    conditions: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    transitions: dict[str, Any] = {}
    if next_action is not None:
        transitions["NextAction"] = next_action
    if conditions:
        transitions["Conditions"] = [
            {"NextAction": target, "Condition": {"Operator": "Equals", "Operands": [operand]}}
            for operand, target in conditions.items()
        ]
    if errors:
        transitions["Errors"] = [{"NextAction": target, "ErrorType": kind} for kind, target in errors.items()]
    return {
        "Identifier": identifier,
        "Type": action_type,
        "Parameters": dict(parameters),
        "Transitions": transitions,
    }


def _layout(start: str, actions: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Block positions for the flow designer: each action one column right of the first action
    that leads to it, so the designer opens on a readable left-to-right graph."""
    by_id = {action["Identifier"]: action for action in actions}
    column = {start: 0}
    order = [start]
    for identifier in order:
        for target in successors(by_id[identifier]):
            if target not in column:
                column[target] = column[identifier] + 1
                order.append(target)
    rows: dict[int, int] = {}
    positions: dict[str, Any] = {}
    for identifier in order:
        row = rows.get(column[identifier], 0)
        rows[column[identifier]] = row + 1
        positions[identifier] = {"position": {"x": 40 + 260 * column[identifier], "y": 40 + 200 * row}}
    return {"entryPointPosition": {"x": 10, "y": 40}, "ActionMetadata": positions}


def successors(action: Mapping[str, Any]) -> list[str]:
    """Every action `action` can lead to, in transition order, without repeats."""
    transitions = action["Transitions"]
    targets = [transitions["NextAction"]] if "NextAction" in transitions else []
    targets += [condition["NextAction"] for condition in transitions.get("Conditions", [])]
    targets += [error["NextAction"] for error in transitions.get("Errors", [])]
    return list(dict.fromkeys(targets))
