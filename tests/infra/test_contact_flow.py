"""The inbound contact flow as the builder writes it: valid flow language, every branch kind, no loops."""

from __future__ import annotations

import json
from typing import Any

import pytest
from careline.conversation.model import Queue

from infra.contact_flow import (
    CHECK_TRANSFER,
    FALLBACK_TRANSFER,
    HANG_UP,
    LOOK_UP_GREETING,
    START_LOGGING,
    TALK_WITH_BOT,
    TROUBLE,
    FlowTargets,
    inbound_flow,
    set_queue_action,
    transfer_action,
)
from tests.infra.flow_graph import actions_by_id, paths, structural_problems

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]

INSTANCE = "arn:aws:connect:us-west-2:111122223333:instance/0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"
TARGETS = FlowTargets(
    voice_contact_function_arn="arn:aws:lambda:us-west-2:111122223333:function:voice-contact",
    bot_alias_arn="arn:aws:lex:us-west-2:111122223333:bot-alias/BOTID12345/ALIASID123",
    queue_arns={queue: f"{INSTANCE}/queue/{queue.value}" for queue in Queue},
    front_desk_hours_arn=f"{INSTANCE}/operating-hours/business",
    plain_greeting_ssml="<speak>Thank you for calling.</speak>",
    trouble_text="Sorry, I'm having trouble. Let me get someone.",
    trouble_closed_text="Sorry, we're closed. If this is an emergency, hang up and call 9 1 1.",
)


@pytest.fixture
def flow() -> dict[str, Any]:
    return inbound_flow(TARGETS)


def test_the_flow_is_valid_flow_language_with_every_error_routed_and_nothing_unreachable(
    flow: dict[str, Any],
) -> None:
    assert structural_problems(flow) == []
    assert json.loads(json.dumps(flow)) == flow


def test_flow_logs_are_turned_on_first_only_when_asked(flow: dict[str, Any]) -> None:
    assert flow["StartAction"] == LOOK_UP_GREETING
    assert START_LOGGING not in actions_by_id(flow)
    logged = inbound_flow(FlowTargets(**{**TARGETS.__dict__, "flow_logs": True}))
    assert logged["StartAction"] == START_LOGGING
    start = actions_by_id(logged)[START_LOGGING]
    assert start["Type"] == "UpdateFlowLoggingBehavior"
    assert start["Parameters"] == {"FlowLoggingBehavior": "Enabled"}
    assert start["Transitions"] == {"NextAction": LOOK_UP_GREETING}
    assert structural_problems(logged) == []


def test_the_greeting_comes_from_the_voice_contact_function_with_a_plain_fallback(
    flow: dict[str, Any],
) -> None:
    by_id = actions_by_id(flow)
    lookup = by_id[LOOK_UP_GREETING]
    assert lookup["Type"] == "InvokeLambdaFunction"
    assert lookup["Parameters"]["LambdaFunctionARN"] == TARGETS.voice_contact_function_arn
    assert lookup["Parameters"]["ResponseValidation"] == {"ResponseType": "STRING_MAP"}
    assert int(lookup["Parameters"]["InvocationTimeLimitSeconds"]) <= 8
    keep, fallback = (by_id[target] for target in ("keep-greeting", "keep-plain-greeting"))
    assert keep["Parameters"]["Attributes"] == {"careline_greeting": "$.External.greeting"}
    assert fallback["Parameters"]["Attributes"] == {"careline_greeting": TARGETS.plain_greeting_ssml}
    # Greeted either way, then the bot.
    assert keep["Transitions"]["NextAction"] == fallback["Transitions"]["NextAction"] == TALK_WITH_BOT
    assert {e["NextAction"] for e in lookup["Transitions"]["Errors"]} == {"keep-plain-greeting"}


def test_the_bot_gets_the_greeting_and_the_contact_id_and_both_numbers(flow: dict[str, Any]) -> None:
    bot = actions_by_id(flow)[TALK_WITH_BOT]
    assert bot["Type"] == "ConnectParticipantWithLexBot"
    assert bot["Parameters"] == {
        "SSML": "$.Attributes.careline_greeting",
        "LexV2Bot": {"AliasArn": TARGETS.bot_alias_arn},
        "LexSessionAttributes": {
            "careline_contact_id": "$.ContactId",
            "careline_caller_number": "$.CustomerEndpoint.Address",
            "careline_dialed_number": "$.SystemEndpoint.Address",
        },
    }
    errors = {e["ErrorType"]: e["NextAction"] for e in bot["Transitions"]["Errors"]}
    # A finished conversation reads what the engine decided, however Connect reports it.
    assert bot["Transitions"]["NextAction"] == errors["NoMatchingCondition"] == CHECK_TRANSFER
    assert errors["NoMatchingError"] == errors["InputTimeLimitExceeded"] == TROUBLE


@pytest.mark.parametrize("queue", list(Queue))
def test_each_queue_the_engine_names_notes_the_escalation_and_transfers_to_that_queue(
    flow: dict[str, Any], queue: Queue
) -> None:
    by_id = actions_by_id(flow)
    check = by_id[CHECK_TRANSFER]
    assert check["Parameters"] == {"ComparisonValue": "$.Lex.SessionAttributes.careline_transfer_queue"}
    (branch,) = [
        c["NextAction"]
        for c in check["Transitions"]["Conditions"]
        if c["Condition"] == {"Operator": "Equals", "Operands": [queue.value]}
    ]
    note = by_id[branch]
    assert note["Type"] == "UpdateContactAttributes"
    assert note["Parameters"] == {
        "TargetContact": "Current",
        "Attributes": {
            "careline_transfer_queue": queue.value,
            "careline_escalation_id": "$.Lex.SessionAttributes.careline_escalation_id",
        },
    }
    # Losing the note must not lose the caller's transfer.
    assert {e["NextAction"] for e in note["Transitions"]["Errors"]} == {set_queue_action(queue)}
    set_queue = by_id[note["Transitions"]["NextAction"]]
    assert set_queue["Type"] == "UpdateContactTargetQueue"
    assert set_queue["Parameters"] == {"QueueId": TARGETS.queue_arns[queue]}
    transfer = by_id[set_queue["Transitions"]["NextAction"]]
    assert transfer["Identifier"] == transfer_action(queue)
    assert transfer["Type"] == "TransferContactToQueue"
    assert {e["NextAction"] for e in transfer["Transitions"]["Errors"]} == {TROUBLE}


def test_no_queue_named_hangs_up_after_the_bot_said_goodbye(flow: dict[str, Any]) -> None:
    check = actions_by_id(flow)[CHECK_TRANSFER]
    assert check["Transitions"]["NextAction"] == HANG_UP
    assert check["Transitions"]["Errors"] == [{"NextAction": HANG_UP, "ErrorType": "NoMatchingCondition"}]
    assert actions_by_id(flow)[HANG_UP] == {
        "Identifier": HANG_UP,
        "Type": "DisconnectParticipant",
        "Parameters": {},
        "Transitions": {},
    }


def test_trouble_apologizes_then_tries_the_front_desk_while_it_is_open(flow: dict[str, Any]) -> None:
    by_id = actions_by_id(flow)
    check = by_id[TROUBLE]
    assert check["Type"] == "CheckHoursOfOperation"
    assert check["Parameters"] == {"HoursOfOperationId": TARGETS.front_desk_hours_arn}
    branches = {c["Condition"]["Operands"][0]: c["NextAction"] for c in check["Transitions"]["Conditions"]}
    assert set(branches) == {"True", "False"}
    assert by_id[branches["True"]]["Parameters"] == {"Text": TARGETS.trouble_text}
    assert by_id[branches["False"]]["Parameters"] == {"Text": TARGETS.trouble_closed_text}
    fallback = by_id[by_id[branches["True"]]["Transitions"]["NextAction"]]
    assert fallback["Parameters"] == {"QueueId": TARGETS.queue_arns[Queue.FRONT_DESK]}
    assert fallback["Transitions"]["NextAction"] == FALLBACK_TRANSFER


def test_every_way_out_of_trouble_speaks_before_it_ends_and_nothing_loops(flow: dict[str, Any]) -> None:
    by_id = actions_by_id(flow)
    for path in paths(flow, TROUBLE):
        assert any(by_id[step]["Type"] == "MessageParticipant" for step in path), path
        assert path[-1] == HANG_UP, path
    for path in paths(flow, flow["StartAction"]):
        assert path[-1] == HANG_UP, path


def test_every_queue_needs_an_arn() -> None:
    queues = {q: arn for q, arn in TARGETS.queue_arns.items() if q is not Queue.CRISIS}
    with pytest.raises(ValueError, match="crisis"):
        inbound_flow(FlowTargets(**{**TARGETS.__dict__, "queue_arns": queues}))


def test_the_designer_layout_places_every_action(flow: dict[str, Any]) -> None:
    positions = flow["Metadata"]["ActionMetadata"]
    assert set(positions) == set(actions_by_id(flow))
    assert len({(p["position"]["x"], p["position"]["y"]) for p in positions.values()}) == len(positions)
