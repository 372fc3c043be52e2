"""Reading a contact flow (Amazon Connect flow language) as a graph, for the flow tests."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from infra.contact_flow import ACTION_ERRORS, TERMINAL_ACTIONS, successors


def actions_by_id(flow: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    actions: list[dict[str, Any]] = flow["Actions"]
    by_id = {action["Identifier"]: action for action in actions}
    assert len(by_id) == len(actions), "action identifiers must be unique"
    return by_id


def reachable(flow: Mapping[str, Any], start: str | None = None) -> set[str]:
    by_id = actions_by_id(flow)
    seen: set[str] = set()
    pending = [start or flow["StartAction"]]
    while pending:
        identifier = pending.pop()
        if identifier in seen:
            continue
        seen.add(identifier)
        pending += successors(by_id[identifier])
    return seen


def paths(flow: Mapping[str, Any], start: str) -> Iterator[list[str]]:
    """Every path from `start` to an action with no successor (the flow has no cycles)."""
    by_id = actions_by_id(flow)

    def walk(identifier: str, path: list[str]) -> Iterator[list[str]]:
        assert identifier not in path, f"the flow loops: {' -> '.join([*path, identifier])}"
        path = [*path, identifier]
        following = successors(by_id[identifier])
        if not following:
            yield path
        for target in following:
            yield from walk(target, path)

    yield from walk(start, [])


def structural_problems(flow: Mapping[str, Any]) -> list[str]:
    """What would make Connect refuse the flow, or leave a caller stranded."""
    problems: list[str] = []
    by_id = actions_by_id(flow)
    if flow.get("Version") != "2019-10-30":
        problems.append(f"Version is {flow.get('Version')!r}")
    if flow.get("StartAction") not in by_id:
        problems.append(f"StartAction {flow.get('StartAction')!r} is not an action")
    for identifier, action in by_id.items():
        kind = action["Type"]
        if kind not in ACTION_ERRORS:
            problems.append(f"{identifier}: action type {kind} is not one the flow is written for")
            continue
        if not 1 <= len(identifier) <= 50 or set(identifier) & set("%:(\\/)=$,;[]{}"):
            problems.append(f"{identifier}: not a valid identifier")
        transitions = action["Transitions"]
        for target in successors(action):
            if target not in by_id:
                problems.append(f"{identifier}: transition to unknown action {target!r}")
        if kind in TERMINAL_ACTIONS:
            if transitions:
                problems.append(f"{identifier}: a terminal action must have empty Transitions")
            continue
        if "NextAction" not in transitions:
            problems.append(f"{identifier}: no NextAction")
        routed = {error["ErrorType"] for error in transitions.get("Errors", [])}
        if routed != set(ACTION_ERRORS[kind]):
            problems.append(
                f"{identifier}: errors routed {sorted(routed)}, expected {sorted(ACTION_ERRORS[kind])}"
            )
    unreachable = set(by_id) - reachable(flow)
    if unreachable:
        problems.append(f"unreachable actions: {sorted(unreachable)}")
    return problems
