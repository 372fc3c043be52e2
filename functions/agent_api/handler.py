"""Lambda entry point of the agent panel API (API Gateway REST API, Cognito user pool authorizer).

Thin on purpose: who is asking comes from the authorizer's claims (`cognito:username`, else
`username` or `sub`; `cognito:groups`), never from the request; the use cases are
`careline.agents.AgentPanel`'s; each domain refusal maps to one status (400, 403, 404, 409). Logs
carry routes, statuses, ids and error classes, never a body or a message text.

Routes: `GET /` the panel page (the only one without the authorizer: it holds no data),
`GET /me`, `GET /escalations`, `GET /escalations/{party_id}/{escalation_id}?why=...`,
`POST .../accept`, `POST .../reply` `{"text": ...}`, `POST .../hand-back`.
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from careline.agents import (
    AgentPanelError,
    ConflictingState,
    EscalationNotFound,
    InvalidRequest,
    NotPermitted,
    StaffUser,
    parse_groups,
)
from careline.agents.page import render_panel
from careline.composition import get_agent_runtime
from careline.observability import logger, metrics, tracer

# party ids are HMAC-SHA256 hex; escalation ids are uuids (or other short opaque ids)
PARTY_ID = re.compile(r"^[0-9a-f]{64}$")
ESCALATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
MAX_BODY_BYTES = 16 * 1024

STATUS_OF: dict[type[AgentPanelError], HTTPStatus] = {
    InvalidRequest: HTTPStatus.BAD_REQUEST,
    NotPermitted: HTTPStatus.FORBIDDEN,
    EscalationNotFound: HTTPStatus.NOT_FOUND,
    ConflictingState: HTTPStatus.CONFLICT,
}

app = APIGatewayRestResolver()


class Unauthenticated(Exception):
    """No signed-in user in the request (the authorizer should have refused it already)."""


def _json(status: HTTPStatus, body: dict[str, Any]) -> Response[str]:
    return Response(
        status_code=status.value,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body),
        headers={"Cache-Control": "no-store"},
    )


def _user() -> StaffUser:
    """The caller, from the Cognito authorizer's claims only."""
    claims = app.current_event.request_context.authorizer.claims
    user_id = claims.get("cognito:username") or claims.get("username") or claims.get("sub")
    if not isinstance(user_id, str) or not user_id:
        raise Unauthenticated
    return StaffUser(user_id=user_id, group_names=parse_groups(claims.get("cognito:groups")))


def _ids(party_id: str, escalation_id: str) -> tuple[str, str]:
    if not PARTY_ID.match(party_id) or not ESCALATION_ID.match(escalation_id):
        raise InvalidRequest("not an escalation address: /escalations/<party id>/<escalation id>")
    return party_id, escalation_id


def _body() -> dict[str, Any]:
    raw = app.current_event.body or ""
    if len(raw.encode("utf-8")) > MAX_BODY_BYTES:
        raise InvalidRequest("the body is too large")
    try:
        body = json.loads(raw or "{}")
    except json.JSONDecodeError:
        raise InvalidRequest("the body must be JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object")
    return body


# -- routes ----------------------------------------------------------------------------------------


@app.get("/")
def panel_page() -> Response[str]:
    """The panel's web page (no data in it; it signs in, then calls the routes below)."""
    settings = get_agent_runtime().page
    if settings is None:
        return _json(HTTPStatus.NOT_FOUND, {"error": "the panel page is not configured here"})
    page = render_panel(settings)
    return Response(status_code=HTTPStatus.OK.value, body=page.html, headers=page.headers())


@app.get("/me")
def who_am_i() -> Response[str]:
    user = _user()
    return _json(
        HTTPStatus.OK,
        {
            "user_id": user.user_id,
            "groups": sorted(g.value for g in user.groups),
            "queues": sorted(q.value for q in user.queues),
            "supervisor": user.is_supervisor,
        },
    )


@app.get("/escalations")
def list_escalations() -> Response[str]:
    items = get_agent_runtime().panel.list_escalations(_user())
    return _json(HTTPStatus.OK, {"escalations": [item.to_json() for item in items]})


@app.get("/escalations/<party_id>/<escalation_id>")
def view_escalation(party_id: str, escalation_id: str) -> Response[str]:
    user = _user()
    why = app.current_event.get_query_string_value("why")
    detail = get_agent_runtime().panel.view_escalation(user, *_ids(party_id, escalation_id), why)
    metrics.add_metric(name="PatientContextRead", unit=MetricUnit.Count, value=1)
    return _json(HTTPStatus.OK, detail.to_json())


@app.post("/escalations/<party_id>/<escalation_id>/accept")
def accept(party_id: str, escalation_id: str) -> Response[str]:
    accepted = get_agent_runtime().panel.accept(_user(), *_ids(party_id, escalation_id))
    metrics.add_metric(name="EscalationAccepted", unit=MetricUnit.Count, value=1)
    return _json(HTTPStatus.OK, accepted.to_json())


@app.post("/escalations/<party_id>/<escalation_id>/reply")
def reply(party_id: str, escalation_id: str) -> Response[str]:
    user = _user()
    body = _body()
    if set(body) - {"text"}:
        raise InvalidRequest('a reply takes only {"text": "..."}')
    text = body.get("text")
    if text is not None and not isinstance(text, str):
        raise InvalidRequest("`text` must be a string")
    replied = get_agent_runtime().panel.reply(user, *_ids(party_id, escalation_id), text)
    metrics.add_metric(name="StaffReplySent", unit=MetricUnit.Count, value=1)
    return _json(HTTPStatus.OK, replied.to_json())


@app.post("/escalations/<party_id>/<escalation_id>/hand-back")
def hand_back(party_id: str, escalation_id: str) -> Response[str]:
    handed = get_agent_runtime().panel.hand_back(_user(), *_ids(party_id, escalation_id))
    return _json(HTTPStatus.OK, handed.to_json())


# -- errors ----------------------------------------------------------------------------------------


@app.exception_handler(AgentPanelError)  # type: ignore[untyped-decorator]
def refused(exc: AgentPanelError) -> Response[str]:
    status = next((s for cls, s in STATUS_OF.items() if isinstance(exc, cls)), HTTPStatus.BAD_REQUEST)
    # the message names ids and rules only (careline.agents.errors), so it may be logged and returned
    logger.info("agent request refused", extra={"status": status.value, "refusal": type(exc).__name__})
    return _json(status, {"error": str(exc)})


@app.exception_handler(Unauthenticated)  # type: ignore[untyped-decorator]
def unauthenticated(_exc: Unauthenticated) -> Response[str]:
    return _json(HTTPStatus.UNAUTHORIZED, {"error": "sign in first"})


@app.not_found
def no_route(_exc: Exception) -> Response[str]:
    return _json(HTTPStatus.NOT_FOUND, {"error": "no such route"})


@app.exception_handler(Exception)  # type: ignore[untyped-decorator]
def failed(exc: Exception) -> Response[str]:
    # the exception's text might quote something it should not: its class only
    logger.error("agent request failed", extra={"error_type": type(exc).__name__})
    metrics.add_metric(name="AgentApiFailed", unit=MetricUnit.Count, value=1)
    return _json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "internal error"})


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """One API Gateway request -> one response (no PHI in any log line)."""
    response: dict[str, Any] = app.resolve(event, context)
    metrics.add_metric(name="AgentApiRequest", unit=MetricUnit.Count, value=1)
    logger.info(
        "agent api request",
        extra={
            "route": app.current_event.resource,
            "method": event.get("httpMethod"),
            "status": response["statusCode"],
        },
    )
    return response
