"""What a call does after the engine has spoken (transfer, end, keep listening), and the call-start
greeting from a Connect contact-flow event. Every response is checked against Lex V2's shape."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from careline.channels import call
from careline.channels.connect import greeting, parse_call_start
from careline.channels.voice import END_OF_CONVERSATION_ATTRIBUTE, VoiceTurn, parse_lex_event
from careline.config import PracticeConfig
from careline.errors import MalformedEventError

from tests.lex_shapes import response_errors

EVENTS = Path(__file__).resolve().parents[2] / "events"
# Riverbend's hours: Monday 10am Pacific is open; Saturday 10am is closed (crisis is staffed always)
OPEN = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
CLOSED = datetime(2026, 12, 5, 18, 0, tzinfo=UTC)


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return data


def lex_turn(**attributes: str) -> VoiceTurn:
    event = load("lex_v2_code_hook.json")
    event["sessionState"]["sessionAttributes"].update(attributes)
    return parse_lex_event(event, received_at=OPEN)


def summary(intent: str, *escalations: tuple[str, str], reply_keys: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "intent": intent,
        "escalations": [
            {"escalation_id": f"esc-{i}", "reason": "x", "urgency": urgency, "queue": queue}
            for i, (urgency, queue) in enumerate(escalations)
        ],
        "reply_keys": list(reply_keys),
    }


def attributes(response: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = response["sessionState"]["sessionAttributes"]
    return found


def spoken(response: dict[str, Any]) -> str:
    return " ".join(m["content"] for m in response["messages"])


def test_an_answer_keeps_listening_and_carries_the_flow_attributes(practice: PracticeConfig) -> None:
    turn = lex_turn()
    response = call.respond(turn, summary("practice_info"), ["We are open now."], practice, OPEN)
    assert response_errors(response) == []
    assert response["sessionState"]["dialogAction"] == {"type": "ElicitIntent"}
    assert attributes(response)["careline_contact_id"] == turn.contact_id
    assert call.TRANSFER_QUEUE_ATTRIBUTE not in attributes(response)
    assert response["messages"][0]["content"] == "<speak>We are open now.</speak>"


def test_a_person_asked_for_in_hours_is_put_through_to_the_queue(practice: PracticeConfig) -> None:
    response = call.respond(
        lex_turn(),
        summary("speak_to_human", ("routine", "front_desk"), reply_keys=("handoff_in_hours",)),
        ["Okay. I'm connecting you with our front desk now."],
        practice,
        OPEN,
    )
    assert response_errors(response) == []
    assert response["sessionState"]["dialogAction"]["type"] == "Close"
    assert attributes(response)[call.TRANSFER_QUEUE_ATTRIBUTE] == "front_desk"
    assert attributes(response)[call.ESCALATION_ID_ATTRIBUTE] == "esc-0"
    assert END_OF_CONVERSATION_ATTRIBUTE not in attributes(response)
    assert "One moment" not in spoken(response), "the reply already said so"


def test_an_escalation_whose_words_do_not_announce_it_gets_the_transfer_line(
    practice: PracticeConfig,
) -> None:
    response = call.respond(
        lex_turn(),
        summary("appointment_book", ("routine", "front_desk"), reply_keys=("ehr_unavailable",)),
        ["Sorry, our scheduling system isn't answering right now."],
        practice,
        OPEN,
    )
    assert "One moment while I connect you with our front desk." in spoken(response)
    assert response_errors(response) == []


def test_after_hours_the_front_desk_is_not_transferred_to_and_the_call_goes_on(
    practice: PracticeConfig,
) -> None:
    response = call.respond(
        lex_turn(),
        summary("speak_to_human", ("routine", "front_desk")),
        ["Someone will call you back."],
        practice,
        CLOSED,
    )
    assert response["sessionState"]["dialogAction"] == {"type": "ElicitIntent"}
    assert call.TRANSFER_QUEUE_ATTRIBUTE not in attributes(response)


def test_a_crisis_is_put_through_to_the_care_team_at_any_hour(practice: PracticeConfig) -> None:
    response = call.respond(
        lex_turn(),
        summary("safety_crisis", ("crisis", "crisis")),
        ["You can call or text 9 8 8 any time."],
        practice,
        CLOSED,
    )
    assert attributes(response)[call.TRANSFER_QUEUE_ATTRIBUTE] == "crisis"
    assert response_errors(response) == []


def test_an_emergency_ends_the_call_after_the_911_advice_without_a_hold_queue(
    practice: PracticeConfig,
) -> None:
    response = call.respond(
        lex_turn(),
        summary("safety_emergency", ("emergency", "nurse"), ("crisis", "crisis")),
        ["Please hang up and call 9 1 1 now."],
        practice,
        OPEN,
    )
    assert response["sessionState"]["dialogAction"]["type"] == "Close"
    assert attributes(response)[END_OF_CONVERSATION_ATTRIBUTE] == "true"
    assert call.TRANSFER_QUEUE_ATTRIBUTE not in attributes(response)


def test_goodbye_ends_the_call(practice: PracticeConfig) -> None:
    response = call.respond(lex_turn(), summary("goodbye"), ["Take care!"], practice, OPEN)
    assert response["sessionState"]["dialogAction"]["type"] == "Close"
    assert attributes(response)[END_OF_CONVERSATION_ATTRIBUTE] == "true"
    assert response_errors(response) == []


def test_last_turn_transfer_attributes_are_not_carried_into_the_next(practice: PracticeConfig) -> None:
    turn = lex_turn(careline_transfer_queue="billing", careline_escalation_id="old")
    response = call.respond(turn, summary("practice_info"), ["Hi."], practice, OPEN)
    assert call.TRANSFER_QUEUE_ATTRIBUTE not in attributes(response)
    assert call.ESCALATION_ID_ATTRIBUTE not in attributes(response)


def test_a_turn_with_nothing_to_say_still_says_something(practice: PracticeConfig) -> None:
    response = call.respond(lex_turn(), summary("out_of_scope"), [], practice, OPEN)
    assert "say it another way" in spoken(response)
    assert response_errors(response) == []


def test_trouble_nothing_heard_and_unreadable_answers_have_the_documented_shape(
    practice: PracticeConfig,
) -> None:
    turn = lex_turn()
    trouble = call.trouble(turn, practice)
    assert attributes(trouble)[call.TRANSFER_QUEUE_ATTRIBUTE] == "front_desk"
    assert "Let me get someone" in spoken(trouble)
    heard = call.nothing_heard(turn, practice)
    assert heard["sessionState"]["dialogAction"] == {"type": "ElicitIntent"}
    broken = load("lex_v2_code_hook.json")
    broken["sessionState"]["sessionAttributes"]["n"] = 3
    del broken["inputMode"]
    unreadable = call.unreadable(broken, practice)
    assert attributes(unreadable)["careline_contact_id"] == turn.contact_id
    assert "n" not in attributes(unreadable)
    for response in (trouble, heard, unreadable, call.unreadable("not an event", practice)):
        assert response_errors(response) == [], response


# --- call start (Connect contact-flow Lambda) -------------------------------------------------------


def test_the_call_start_event_gives_the_contact_and_both_numbers() -> None:
    start = parse_call_start(load("connect_contact_flow_call_start.json"))
    assert start.contact_id == "9d2b7c41-3e6a-4f58-b1c2-6a8e0f4d2c97"
    assert start.caller_number == "+15035550188"
    assert start.dialed_number == "+15035550100"
    assert start.instance_arn is not None
    assert start.instance_arn.startswith("arn:aws:connect:")


def test_a_withheld_number_is_no_number_not_a_malformed_event() -> None:
    start = parse_call_start(load("connect_contact_flow_withheld_number.json"))
    assert start.caller_number is None
    anonymous = load("connect_contact_flow_call_start.json")
    anonymous["Details"]["ContactData"]["CustomerEndpoint"]["Address"] = "anonymous"
    assert parse_call_start(anonymous).caller_number is None


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("Name",), "ContactFlowExecution"),
        (("Details",), None),
        (("Details", "ContactData"), []),
        (("Details", "ContactData", "ContactId"), None),
        (("Details", "ContactData", "ContactId"), "+15035550188 <script>"),
        (("Details", "ContactData", "Channel"), "CHAT"),
        (("Details", "ContactData", "CustomerEndpoint"), "+15035550188"),
        (("Details", "ContactData", "CustomerEndpoint", "Address"), 15035550188),
        (("Details", "ContactData", "InstanceARN"), "+15035550188"),
    ],
)
def test_malformed_call_start_events_are_refused_without_quoting_values(
    path: tuple[str, ...], value: Any
) -> None:
    event = copy.deepcopy(load("connect_contact_flow_call_start.json"))
    target = event
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(MalformedEventError) as raised:
        parse_call_start(event)
    assert "5035550188" not in str(raised.value)
    assert "script" not in str(raised.value)


def test_the_greeting_is_ssml_and_after_hours_says_when_we_open(practice: PracticeConfig) -> None:
    open_now = greeting(practice, OPEN)
    assert open_now["after_hours"] == "false"
    assert open_now["greeting"].startswith("<speak>Thank you for calling Riverbend Family Medicine.")
    closed = greeting(practice, CLOSED)
    assert closed["after_hours"] == "true"
    assert "we open Monday at 8am" in closed["greeting_text"]
    assert all(isinstance(v, str) for v in closed.values()), "Connect needs a flat map of strings"
