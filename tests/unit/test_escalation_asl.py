"""The escalation state machine read as a graph: every state reachable and every transition landing
on a state, Retry and Catch on every Task, both waits catching their SLA, and nothing but ids and
vocabulary flowing through it (the execution history is readable by anyone with SFN read access)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from careline.escalation.workflow import (
    ON_CALL_TOPIC,
    SLA_EXPIRED_ERROR,
    SUPERVISOR_TOPIC,
    TASK_FUNCTIONS,
)

ASL = Path(__file__).resolve().parents[2] / "statemachines" / "escalation.asl.json"
WAITS = ("AwaitAgent", "AwaitLateAgent")
# What a state may put into the execution: ids and the vocabulary of the hand-off, no PHI.
ALLOWED_PATHS = {
    "$.party_id",
    "$.escalation_id",
    "$$.Task.Token",
    "$.handoff.urgency",
    "$.handoff.queue",
    "$.handoff.sla_minutes",
    "$.handoff.follow_up_hours",
}
ALLOWED_RESULT_FIELDS = {
    "status",
    "channel",
    "urgency",
    "queue",
    "reason",
    "sla_seconds",
    "sla_minutes",
    "follow_up_seconds",
    "follow_up_hours",
    "created",
    "outcome",
    "patient_told",
}


@pytest.fixture(scope="module")
def asl() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(ASL.read_text(encoding="utf-8"))
    return data


def successors(state: dict[str, Any]) -> Iterator[str]:
    if "Next" in state:
        yield state["Next"]
    if "Default" in state:
        yield state["Default"]
    for choice in state.get("Choices", []):
        yield choice["Next"]
    for catcher in state.get("Catch", []):
        yield catcher["Next"]


def test_every_transition_lands_on_a_state_and_every_state_is_reachable(asl: dict[str, Any]) -> None:
    states = asl["States"]
    seen: set[str] = set()
    pending = [asl["StartAt"]]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        for following in successors(states[name]):
            assert following in states, f"{name} -> {following}, which does not exist"
            pending.append(following)
    assert seen == set(states)


def test_every_path_ends_in_succeed_or_fail(asl: dict[str, Any]) -> None:
    for name, state in asl["States"].items():
        if state["Type"] in ("Succeed", "Fail"):
            assert not list(successors(state)), name
        else:
            assert list(successors(state)), f"{name} must lead somewhere"
            assert not state.get("End"), f"{name} must end in Succeed or Fail"


def test_every_task_retries_with_backoff_and_catches_what_is_left(asl: dict[str, Any]) -> None:
    tasks = {n: s for n, s in asl["States"].items() if s["Type"] == "Task"}
    assert len(tasks) == 11
    for name, state in tasks.items():
        retriers = [r for r in state["Retry"] if r.get("MaxAttempts", 3) > 0]
        assert retriers, f"{name} never retries"
        for retrier in retriers:
            assert retrier["BackoffRate"] >= 2, name
            assert retrier["IntervalSeconds"] >= 1, name
        assert state["Catch"][-1]["ErrorEquals"] == ["States.ALL"], f"{name} lets an error escape"


def test_a_permanent_error_is_never_retried(asl: dict[str, Any]) -> None:
    for name, state in asl["States"].items():
        if state.get("Resource", "").startswith("arn:aws:states:::lambda:invoke"):
            first = state["Retry"][0]
            assert "EscalationNotFound" in first["ErrorEquals"], name
            assert first["MaxAttempts"] == 0, name


@pytest.mark.parametrize("wait", WAITS)
def test_both_waits_keep_a_token_and_catch_their_deadline(asl: dict[str, Any], wait: str) -> None:
    state = asl["States"][wait]
    assert state["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert state["Parameters"]["Payload"]["task_token.$"] == "$$.Task.Token"
    assert "TimeoutSecondsPath" in state
    # the local runtime's SLA failure must not be retried, and is caught like the real timeout
    assert state["Retry"][0]["MaxAttempts"] == 0
    assert SLA_EXPIRED_ERROR in state["Retry"][0]["ErrorEquals"]
    expired = state["Catch"][0]
    assert set(expired["ErrorEquals"]) == {"States.Timeout", SLA_EXPIRED_ERROR}


def test_emergencies_and_crises_are_paged_before_any_work_item(asl: dict[str, Any]) -> None:
    route = asl["States"]["RouteByUrgency"]
    (paged,) = route["Choices"]
    assert {c["StringEquals"] for c in paged["Or"]} == {"emergency", "crisis"}
    assert paged["Next"] == "PageOnCall"
    page = asl["States"]["PageOnCall"]
    assert page["Parameters"]["TopicArn"] == "${" + ON_CALL_TOPIC + "}"
    assert page["Next"] == "CreateWorkItem"
    assert page["Catch"][0]["Next"] == "PageFailedTellSupervisor"


def test_only_the_substitutions_the_stack_gives_are_used(asl: dict[str, Any]) -> None:
    placeholders = set(re.findall(r"\$\{(\w+)\}", ASL.read_text(encoding="utf-8")))
    assert placeholders == {*TASK_FUNCTIONS, ON_CALL_TOPIC, SUPERVISOR_TOPIC}


def _paths(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key.endswith(".$") and isinstance(inner, str):
                yield from re.findall(r"\$\$?\.[A-Za-z_.]+", inner)
            else:
                yield from _paths(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _paths(inner)


def test_nothing_but_ids_and_vocabulary_flows_through_the_execution(asl: dict[str, Any]) -> None:
    for name, state in asl["States"].items():
        for path in _paths(state.get("Parameters", {})):
            assert path in ALLOWED_PATHS, f"{name} passes {path}"
        selector = state.get("ResultSelector")
        if state["Type"] == "Task" and state["Resource"].startswith("arn:aws:states:::lambda:invoke"):
            if state["Resource"].endswith("waitForTaskToken"):
                continue  # the wait's result is the panel's ids-only SendTaskSuccess output
            assert selector is not None, f"{name} would keep the whole Lambda response"
            assert {k.removesuffix(".$") for k in selector} <= ALLOWED_RESULT_FIELDS, name
        if state["Type"] == "Task" and "sns:publish" in state["Resource"]:
            assert state["ResultPath"] is None


def test_the_workflow_fails_loudly_when_nobody_ever_answers(asl: dict[str, Any]) -> None:
    assert asl["States"]["AwaitLateAgent"]["Catch"][0]["Next"] == "NobodyAccepted"
    assert asl["States"]["NobodyAccepted"]["Next"] == "Unanswered"
    assert asl["States"]["Unanswered"]["Type"] == "Fail"
