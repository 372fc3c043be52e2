"""The local gateway: the patient-phone page and a small JSON API over one `LocalStack`.

Loopback only. Request logs carry the method, the path without its query, the status and the
time taken: never a body, so no message text or phone number reaches a log.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import traceback
from collections.abc import Callable
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

from careline_local.agents import API_BASE, AgentDesk, UnknownStaff, render_local_panel
from careline_local.calls import BadHandlerResponse, CallClosed, UnknownCall, VoiceUnavailable
from careline_local.campaign import CampaignFailed
from careline_local.clock import DurationError, parse_duration, parse_instant
from careline_local.jobs import UnknownJobError
from careline_local.scenario_model import E164
from careline_local.stack import FunctionUnavailable, LocalStack

log = logging.getLogger("careline_local.gateway")

MAX_BODY_BYTES = 64 * 1024
MAX_TEXT_CHARS = 1600  # End User Messaging's limit for one inbound message
MAX_UTTERANCE_CHARS = 1024  # Lex V2's limit for one input transcript
# Keypad input: digits and `*`; a trailing `#` is Lex's end-of-input key, not part of the input.
DTMF = re.compile(r"^[0-9*]{1,64}#?$")
CALL_ROUTE = re.compile(r"^/api/voice/calls/([0-9a-f-]{36})(?:/(say|hangup))?$")
STATIC_TYPES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}


class ApiError(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


def _iso(value: datetime) -> str:
    return value.isoformat()


class GatewayHandler(BaseHTTPRequestHandler):
    server_version = "CarelineLocal/1"
    stack: ClassVar[LocalStack]
    desk: ClassVar[AgentDesk]
    demo_patients: ClassVar[list[dict[str, str]]] = []

    # -- plumbing ----------------------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:
        # BaseHTTPRequestHandler logs the raw request line (with any query string); we log our own.
        pass

    def _send_json(self, status: HTTPStatus, body: Any) -> None:
        payload = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(payload)

    def _send_static(self, name: str) -> None:
        content_type = STATIC_TYPES.get(name)
        if content_type is None:
            raise ApiError(HTTPStatus.NOT_FOUND, "not found")
        payload = resources.files("careline_local").joinpath("web", name).read_bytes()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Content-Security-Policy", "default-src 'self'")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(payload)

    def _send_panel(self) -> None:
        page = render_local_panel(self.stack.config.practice.timezone)
        payload = page.html.encode("utf-8")
        self.send_response(HTTPStatus.OK)
        for name, value in page.headers().items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _json_body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise ApiError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request body too large")
        raw = self.rfile.read(length) if length else b"{}"
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            raise ApiError(HTTPStatus.BAD_REQUEST, "the body must be JSON") from None
        if not isinstance(body, dict):
            raise ApiError(HTTPStatus.BAD_REQUEST, "the body must be a JSON object")
        return body

    def _dispatch(self, method: str) -> None:
        started = time.monotonic()
        path = urlsplit(self.path).path
        status = HTTPStatus.INTERNAL_SERVER_ERROR
        try:
            status = self._route(method, path)
        except ApiError as exc:
            status = exc.status
            self._send_json(status, {"error": str(exc)})
        except Exception as exc:  # noqa: BLE001 - any failure becomes a 500, never a dead gateway
            # The exception's text may quote a message or a number: log its type and frames only.
            frames = "".join(traceback.format_tb(exc.__traceback__))
            log.error("request failed: %s %s: %s\n%s", method, path, type(exc).__name__, frames)
            self._send_json(status, {"error": "internal error; see the local runtime's log"})
        finally:
            # The page polls with GETs every few seconds; those stay out of the console unless they fail.
            level = logging.DEBUG if method == "GET" and status < 400 else logging.INFO
            log.log(level, "%s %s %d %.0fms", method, path, status, (time.monotonic() - started) * 1000)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    # -- routes ------------------------------------------------------------------------------------

    def _route(self, method: str, path: str) -> HTTPStatus:
        stack = self.stack
        ok = HTTPStatus.OK
        if method == "GET" and path in {"/", "/index.html"}:
            self._send_static("index.html")
        elif method == "GET" and path in {"/agents", "/agents/"}:
            self._send_panel()
        elif path.startswith(f"{API_BASE}/"):
            return self._agent_api(method, path.removeprefix(API_BASE))
        elif method == "GET" and path.startswith("/static/"):
            self._send_static(path.removeprefix("/static/"))
        elif method == "GET" and path == "/api/health":
            self._send_json(ok, stack.health())
        elif method == "POST" and path == "/api/sms":
            self._send_json(ok, self._post_sms(self._json_body()))
        elif method == "GET" and path == "/api/sms/outbound":
            self._send_json(ok, {"messages": [m.to_json() for m in stack.outbox()]})
        elif method == "GET" and path == "/api/clock":
            self._send_json(ok, stack.clock_json())
        elif method == "POST" and path == "/api/clock":
            self._send_json(ok, self._post_clock(self._json_body()))
        elif method == "GET" and path == "/api/jobs":
            self._send_json(ok, {"jobs": stack.job_names()})
        elif method == "POST" and path.startswith("/api/jobs/"):
            self._send_json(ok, self._post_job(path.removeprefix("/api/jobs/")))
        elif method == "GET" and path == "/api/escalations":
            self._send_json(ok, {"escalations": [e.to_json() for e in stack.escalations()]})
        elif method == "GET" and path == "/api/reminders":
            self._send_json(ok, stack.reminders_json())
        elif method == "GET" and path == "/api/email/outbound":
            self._send_json(ok, {"emails": [e.to_json() for e in stack.email_outbox()]})
        elif method == "GET" and path == "/api/demo-patients":
            self._send_json(ok, {"patients": self.demo_patients})
        elif method == "POST" and path == "/api/voice/calls":
            self._send_json(ok, self._voice(lambda: self._post_call(self._json_body())))
        elif (call := CALL_ROUTE.match(path)) is not None and (method, call.group(2)) in {
            ("GET", None),
            ("POST", "say"),
            ("POST", "hangup"),
        }:
            self._send_json(ok, self._voice(lambda: self._call_action(method, call.group(1), call.group(2))))
        else:
            raise ApiError(HTTPStatus.NOT_FOUND, f"no route {method} {path}")
        return ok

    def _post_sms(self, body: dict[str, Any]) -> dict[str, Any]:
        sender, text = body.get("from"), body.get("text")
        if not isinstance(sender, str) or not E164.match(sender):
            raise ApiError(HTTPStatus.BAD_REQUEST, "`from` must be an E.164 number, like +15035550142")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(HTTPStatus.BAD_REQUEST, "`text` must be a non-empty string")
        if len(text) > MAX_TEXT_CHARS:
            raise ApiError(HTTPStatus.BAD_REQUEST, f"`text` is longer than {MAX_TEXT_CHARS} characters")
        outcome = self.stack.send_sms(sender, text)
        return {
            "replies": [m.to_json() for m in outcome.replies_to(sender)],
            "escalations": [e.to_json() for e in outcome.escalations],
        }

    def _agent_api(self, method: str, path: str) -> HTTPStatus:
        """The agent panel's API: the agent API handler, signed in as the demo staff member the page
        names (the header stands in for Cognito's token; the handler reads only the claims)."""
        who = self.headers.get("X-Careline-Demo-User") or ""
        query = dict(parse_qsl(urlsplit(self.path).query))
        body = self._json_body() if method == "POST" else None
        try:
            response = self.desk.request(who, method, path, query=query or None, body=body)
        except UnknownStaff:
            raise ApiError(HTTPStatus.UNAUTHORIZED, "sign in as one of the demo staff first") from None
        status = HTTPStatus(response.status)
        self._send_json(status, response.body)
        return status

    @staticmethod
    def _voice(action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Run a call action, turning call errors into API errors (their messages hold ids only)."""
        try:
            return action()
        except UnknownCall as exc:
            raise ApiError(HTTPStatus.NOT_FOUND, str(exc)) from None
        except CallClosed as exc:
            raise ApiError(HTTPStatus.CONFLICT, str(exc)) from None
        except VoiceUnavailable as exc:
            raise ApiError(HTTPStatus.SERVICE_UNAVAILABLE, str(exc)) from None
        except BadHandlerResponse as exc:
            log.error("a voice function's response was refused: %s", exc)
            raise ApiError(HTTPStatus.BAD_GATEWAY, str(exc)) from None

    def _post_call(self, body: dict[str, Any]) -> dict[str, Any]:
        caller = body.get("from")
        if set(body) - {"from"}:
            raise ApiError(HTTPStatus.BAD_REQUEST, "a call takes only `from`")
        if not isinstance(caller, str) or not E164.match(caller):
            raise ApiError(HTTPStatus.BAD_REQUEST, "`from` must be an E.164 number, like +15035550142")
        started = self.stack.start_call(caller)
        log.info("call %s started", started.call_id)
        return started.to_json()

    def _call_action(self, method: str, call_id: str, action: str | None) -> dict[str, Any]:
        if action is None:
            return self.stack.call(call_id).to_json()
        if action == "hangup":
            call = self.stack.hang_up(call_id)
            log.info("call %s hung up", call_id)
            return call.to_json()
        body = self._json_body()
        if set(body) - {"text", "dtmf", "asr_confidence"} or ("text" in body) == ("dtmf" in body):
            raise ApiError(
                HTTPStatus.BAD_REQUEST,
                'give one of {"text": "what the caller says"} or {"dtmf": "03141984"}'
                ' (and, with text, an optional "asr_confidence" between 0 and 1)',
            )
        if "dtmf" in body:
            digits = body["dtmf"]
            if "asr_confidence" in body:
                raise ApiError(HTTPStatus.BAD_REQUEST, "`asr_confidence` belongs to speech, not keypad input")
            if not isinstance(digits, str) or not DTMF.match(digits):
                raise ApiError(HTTPStatus.BAD_REQUEST, "`dtmf` is keypad digits 0-9 and *, like 03141984")
            turn = self.stack.press(call_id, digits.removesuffix("#"))
        else:
            text, confidence = body["text"], body.get("asr_confidence")
            if not isinstance(text, str) or not text.strip():
                raise ApiError(HTTPStatus.BAD_REQUEST, "`text` must be a non-empty string")
            if len(text) > MAX_UTTERANCE_CHARS:
                raise ApiError(
                    HTTPStatus.BAD_REQUEST, f"`text` is longer than {MAX_UTTERANCE_CHARS} characters"
                )
            if confidence is not None and (
                isinstance(confidence, bool)
                or not isinstance(confidence, int | float)
                or not 0 <= confidence <= 1
            ):
                raise ApiError(HTTPStatus.BAD_REQUEST, "`asr_confidence` is a number between 0 and 1")
            turn = self.stack.say(
                call_id, text.strip(), asr_confidence=None if confidence is None else float(confidence)
            )
        if turn.ended:
            log.info("call %s ended by a %s", call_id, turn.dialog_action)
        return turn.to_json()

    def _post_clock(self, body: dict[str, Any]) -> dict[str, Any]:
        if set(body) - {"advance", "set"} or len(body) != 1:
            raise ApiError(HTTPStatus.BAD_REQUEST, 'give one of {"advance": "2h"} or {"set": "<ISO time>"}')
        try:
            if "advance" in body:
                self.stack.clock.advance(parse_duration(str(body["advance"])))
            else:
                self.stack.clock.set(parse_instant(str(body["set"])))
        except (DurationError, ValueError) as exc:
            raise ApiError(HTTPStatus.BAD_REQUEST, str(exc)) from None
        log.info("clock now %s", _iso(self.stack.clock.now()))
        return self.stack.clock_json()

    def _post_job(self, name: str) -> dict[str, Any]:
        try:
            report, outcome = self.stack.run_job(name)
        except UnknownJobError as exc:
            raise ApiError(HTTPStatus.NOT_FOUND, str(exc)) from None
        except FunctionUnavailable as exc:
            raise ApiError(HTTPStatus.SERVICE_UNAVAILABLE, str(exc)) from None
        except CampaignFailed as exc:
            log.error("job %s failed: its execution did not succeed", name)
            raise ApiError(HTTPStatus.BAD_GATEWAY, str(exc)) from None
        return {
            **report.to_json(),
            "sent": [m.to_json() for m in outcome.sent],
            "emails": [e.to_json() for e in outcome.emails],
            "escalations": [e.to_json() for e in outcome.escalations],
        }


class Gateway:
    """The HTTP server in a background thread; `stop()` shuts it down and closes the socket."""

    def __init__(self, stack: LocalStack, port: int, demo_patients: list[dict[str, str]]) -> None:
        handler = type(
            "BoundGatewayHandler",
            (GatewayHandler,),
            {"stack": stack, "desk": AgentDesk(stack), "demo_patients": demo_patients},
        )
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="gateway", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
