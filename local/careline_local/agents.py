"""The agent panel locally: demo staff, and the very `functions/agent_api/handler.handler` run
in-process on API Gateway-shaped events.

There is no Cognito locally. A demo staff member per group stands in for a signed-in user, and
`AgentDesk` builds the REST API proxy event API Gateway would pass after its Cognito authorizer:
the user name and groups under `requestContext.authorizer.claims` (`cognito:username`,
`cognito:groups` as the comma-separated string API Gateway flattens the list to). The gateway
serves the panel page at `/agents` and forwards `/api/agents/...` here; scenarios and tests call
`escalations`, `view`, `accept`, `reply` and `hand_back` directly.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from careline import composition
from careline.agents.page import DemoStaff, PanelSettings, RenderedPage, render_panel
from careline.store import bind_models
from careline.store.models import ESCALATION_PREFIX

from careline_local.paths import REPO_ROOT
from careline_local.stack import Handler, LocalStack, load_handler

AGENT_API_HANDLER = REPO_ROOT / "functions" / "agent_api" / "handler.py"
API_BASE = "/api/agents"
STAGE = "local"

# One demo staff member per Cognito group of the stack (infra/agent_panel.py).
DEMO_STAFF: tuple[DemoStaff, ...] = (
    DemoStaff(username="dana.frontdesk", name="Dana", group="front_desk"),
    DemoStaff(username="bo.billing", name="Bo", group="billing"),
    DemoStaff(username="nina.nurse", name="Nina", group="nurse"),
    DemoStaff(username="sam.supervisor", name="Sam", group="supervisor"),
)


class UnknownStaff(LookupError):
    """No demo staff member by that user name or group."""


class AgentRequestFailed(RuntimeError):
    """The agent API refused a request (status 4xx/5xx); the message is the API's error."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(f"{status}: {error}")
        self.status = status
        self.error = error


@dataclass(frozen=True)
class AgentResponse:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


def staff_member(who: str) -> DemoStaff:
    """The demo staff member whose user name or group is `who`."""
    for staff in DEMO_STAFF:
        if who in (staff.username, staff.group):
            return staff
    raise UnknownStaff(f"no demo staff member {who!r}; one of {', '.join(s.group for s in DEMO_STAFF)}")


def panel_settings(timezone: str | None) -> PanelSettings:
    """The panel page as the local gateway serves it: local sign-in, the API under /api/agents."""
    return PanelSettings(
        mode="local", api_base=API_BASE, timezone=timezone, demo_staff=DEMO_STAFF, frame_ancestors=()
    )


def render_local_panel(timezone: str | None) -> RenderedPage:
    return render_panel(panel_settings(timezone))


def _resource(path: str) -> tuple[str, dict[str, str] | None]:
    """The REST API resource a path matches (`event.resource`) and its path parameters."""
    parts = path.strip("/").split("/")
    if parts[0] == "escalations" and len(parts) in (3, 4):
        suffix = f"/{parts[3]}" if len(parts) == 4 else ""
        return "/escalations/{party_id}/{escalation_id}" + suffix, {
            "party_id": parts[1],
            "escalation_id": parts[2],
        }
    return path, None


def api_gateway_event(
    staff: DemoStaff,
    method: str,
    path: str,
    *,
    query: Mapping[str, str] | None = None,
    body: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """A REST API (v1) Lambda proxy event, as API Gateway sends it once the Cognito authorizer has
    accepted `staff`'s ID token."""
    resource, path_parameters = _resource(path)
    now = at or datetime.now(UTC)
    claims = {
        "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, f"careline-local:{staff.username}")),
        "cognito:username": staff.username,
        "cognito:groups": staff.group,
        "token_use": "id",
        "auth_time": str(int(now.timestamp())),
    }
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"Accept": "application/json", "Content-Type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/{STAGE}{path}",
            "stage": STAGE,
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "accountId": "123456789012",
            "apiId": "local",
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "careline-local"},
            "authorizer": {"claims": claims},
        },
        "body": json.dumps(dict(body)) if body is not None else None,
        "isBase64Encoded": False,
    }


def _lambda_context() -> composition.LocalLambdaContext:
    name = "careline-agent-api-local"
    return composition.LocalLambdaContext(
        function_name=name,
        invoked_function_arn=f"arn:aws:lambda:us-west-2:123456789012:function:{name}",
        log_group_name=f"/aws/lambda/{name}",
    )


class AgentDesk:
    """Staff at the local panel: each call goes through the agent API handler, signed in as the
    demo staff member of a group (or a user name), exactly as the deployed API would be called.

    `escalation` arguments take an escalation id, a dict from `escalations()` or the patient page's
    list, or anything with an `escalation_id`: the party id is looked up when not given.
    """

    # Powertools' resolver keeps the request in progress on a module-level object, as one Lambda
    # container runs one request at a time: requests here take turns too.
    _lock = threading.Lock()

    def __init__(self, stack: LocalStack, handler: Handler | None = None) -> None:
        self._stack = stack
        self._handler = handler
        self._models = bind_models(
            stack.resources.table_name,
            region=stack.resources.region,
            host=os.environ.get("AWS_ENDPOINT_URL"),
        )

    def request(
        self,
        who: str,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> AgentResponse:
        """One API request as `who` (a demo user name or group); the handler's answer as it is."""
        staff = staff_member(who)
        event = api_gateway_event(staff, method, path, query=query, body=body, at=self._stack.clock.now())
        with self._lock:
            if self._handler is None:
                self._handler = load_handler(AGENT_API_HANDLER, "careline_agent_api_handler")
            raw = self._handler(event, _lambda_context())
        # a REST API proxy response: Powertools answers with multi-value headers
        headers = {str(k): str(v[-1]) for k, v in (raw.get("multiValueHeaders") or {}).items() if v}
        headers.update({str(k): str(v) for k, v in (raw.get("headers") or {}).items()})
        text = raw.get("body") or "{}"
        try:
            payload = json.loads(text)
        except json.JSONDecodeError:
            payload = {"body": text}
        return AgentResponse(status=int(raw["statusCode"]), body=payload, headers=headers)

    # -- what scenarios and tests call -------------------------------------------------------------

    def escalations(self, group: str) -> list[dict[str, Any]]:
        """The open escalations the group's demo staff member sees, oldest first (no PHI)."""
        items: list[dict[str, Any]] = self._ok(self.request(group, "GET", "/escalations"))["escalations"]
        return items

    def view(self, group: str, escalation: Any, why: str = "accepting") -> dict[str, Any]:
        """The escalation with the patient's context (an audited read, for `why`)."""
        return self._ok(self.request(group, "GET", self._path(escalation), query={"why": why}))

    def accept(self, group: str, escalation: Any) -> dict[str, Any]:
        return self._ok(self.request(group, "POST", self._path(escalation, "accept")))

    def reply(self, group: str, escalation: Any, text: str) -> dict[str, Any]:
        return self._ok(self.request(group, "POST", self._path(escalation, "reply"), body={"text": text}))

    def hand_back(self, group: str, escalation: Any) -> dict[str, Any]:
        return self._ok(self.request(group, "POST", self._path(escalation, "hand-back")))

    # -- helpers -----------------------------------------------------------------------------------

    @staticmethod
    def _ok(response: AgentResponse) -> dict[str, Any]:
        if response.status >= 400:
            raise AgentRequestFailed(response.status, str(response.body.get("error", response.body)))
        return response.body

    def _path(self, escalation: Any, action: str | None = None) -> str:
        escalation_id, party_id = self._ids(escalation)
        path = f"/escalations/{quote(party_id, safe='')}/{quote(escalation_id, safe='')}"
        return f"{path}/{action}" if action else path

    def _ids(self, escalation: Any) -> tuple[str, str]:
        if isinstance(escalation, str):
            escalation_id, party_id = escalation, None
        elif isinstance(escalation, Mapping):
            escalation_id = str(escalation.get("escalation_id") or escalation.get("id"))
            party_id = escalation.get("party_id")
        else:
            escalation_id, party_id = str(escalation.escalation_id), getattr(escalation, "party_id", None)
        if not party_id:
            party_id = self._party_of(escalation_id)
        return escalation_id, str(party_id)

    def _party_of(self, escalation_id: str) -> str:
        model = self._models.escalation
        for item in model.scan(
            model.sk.startswith(ESCALATION_PREFIX) & (model.escalation_id == escalation_id)
        ):
            return str(item.party_id)
        raise AgentRequestFailed(404, f"no escalation {escalation_id}")
