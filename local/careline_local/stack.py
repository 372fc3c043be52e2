"""A local Careline stack: moto resources, the composition root's runtime, the handler, a clock.

The gateway and the scenario runner both drive Careline through this one class, and it runs the
very handler function Lambda runs (`functions/sms_inbound/handler.handler`), fed real-shaped
SNS-wrapped End User Messaging events. What a step caused (SMS sent, escalations created) is read
as the difference in the outbox and the table before and after it.

`ehr_down()` / `ehr_up()` stage an EHR outage the way Careline would meet one: the composition
root's `CARELINE_FHIR_BASE_URL` is pointed at a loopback port that refuses connections (held bound,
never listening, so nothing else can take it) and the runtime is rebuilt with the stack's overrides;
the real `FhirEhr` then fails to connect, retries and gives up. `ehr_up()` restores the URL and
rebuilds again (a fresh circuit breaker, as after a cold start).

Phone calls (see `careline_local.calls`): `start_call` invokes `functions/voice_contact/handler`
with a Connect contact-flow event, `say` / `press` invoke `functions/voice_turn/handler` with a Lex
V2 code-hook event (Speech or DTMF) carrying the session attributes the previous turn returned, and
`hang_up` ends the call as a caller putting the phone down does (no function runs). The voice
functions are loaded on the first call, so a checkout without them still runs SMS.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import sys
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from careline import composition
from careline.config import PracticeConfig
from careline.messaging import OutboxMessage, OutboxMessenger
from careline.observability import metrics
from careline.store import bind_models
from careline.store.models import CONTEXT_SK, ESCALATION_PREFIX, party_pk
from careline.store.verification import HmacSubjectKeys
from pynamodb.exceptions import DoesNotExist

from careline_local.aws import LocalResources, session
from careline_local.calls import (
    ESCALATION_ID_ATTRIBUTE,
    TRANSFER_QUEUE_ATTRIBUTE,
    Call,
    CallClosed,
    CallStart,
    CallTurn,
    UnknownCall,
    VoiceUnavailable,
    check_contact_response,
    check_lex_response,
    spoken_lines,
    ssml_to_text,
)
from careline_local.clock import LocalClock
from careline_local.jobs import JobReport, get_job, job_names
from careline_local.paths import SMS_HANDLER, VOICE_CONTACT_HANDLER, VOICE_TURN_HANDLER
from careline_local.sms_events import inbound_sms_event
from careline_local.voice_events import InputMode, contact_flow_event, instance_arn_of, lex_event

T = TypeVar("T")


@dataclass(frozen=True)
class SentSms:
    """One SMS Careline sent (to the outbox)."""

    id: str
    to: str
    text: str
    at: datetime

    @classmethod
    def from_outbox(cls, message: OutboxMessage) -> SentSms:
        return cls(id=message.message_id, to=message.to, text=message.body, at=message.at)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "to": self.to, "text": self.text, "at": self.at.isoformat()}


@dataclass(frozen=True)
class EscalationView:
    """An escalation as stored: its plain attributes only (the summary stays encrypted)."""

    escalation_id: str
    reason: str
    urgency: str
    queue: str
    status: str
    channel: str
    created_at: str

    def fields(self) -> dict[str, str]:
        return {
            "reason": self.reason,
            "urgency": self.urgency,
            "queue": self.queue,
            "status": self.status,
            "channel": self.channel,
        }

    def to_json(self) -> dict[str, Any]:
        return {"id": self.escalation_id, **self.fields(), "created_at": self.created_at}


@dataclass(frozen=True)
class Outcome:
    """What one action caused: the SMS sent and the escalations created, in order."""

    sent: list[SentSms]
    escalations: list[EscalationView]

    def replies_to(self, number: str) -> list[SentSms]:
        return [m for m in self.sent if m.to == number]


FHIR_BASE_URL_VARIABLE = "CARELINE_FHIR_BASE_URL"


class EhrNotConfigured(RuntimeError):
    """An EHR outage was asked of a stack that has no EHR."""


@dataclass
class _Outage:
    """A staged EHR outage: the refusing port and the FHIR base URL to restore."""

    refusing: socket.socket
    previous_url: str


def _refusing_port() -> socket.socket:
    """A loopback TCP socket bound to a free port and never listening: connecting to it is refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


_handler_modules: dict[str, ModuleType] = {}
Handler = Callable[[dict[str, Any], Any], Any]


def load_handler(path: Path, module_name: str) -> Handler:
    """`<function folder>/handler.handler`, imported once as Lambda would (its folder on the path)."""
    module = _handler_modules.get(module_name)
    if module is None:
        folder = str(path.parent)
        if folder not in sys.path:
            sys.path.insert(0, folder)
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load the handler from {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        _handler_modules[module_name] = module
    handler: Handler | None = getattr(module, "handler", None)
    if handler is None:
        raise ImportError(f"{path} defines no `handler`, the entry point the stack names (handler.handler)")
    return _without_metric_backlog(handler)


def _without_metric_backlog(handler: Handler) -> Handler:
    """The handler, with Powertools' metric set emptied after each call. With metrics disabled
    (the local runtime sets POWERTOOLS_METRICS_DISABLED) Powertools skips the flush but keeps the
    values, and at 100 it prints them all to stdout regardless; in Lambda each invocation flushes."""

    def call(event: dict[str, Any], context: Any) -> Any:
        try:
            return handler(event, context)
        finally:
            metrics.clear_metrics()

    return call


def sms_handler(path: Path = SMS_HANDLER) -> Handler:
    """`functions/sms_inbound/handler.handler`."""
    return load_handler(path, "careline_sms_inbound_handler")


def _voice_handler(path: Path, module_name: str) -> Handler:
    if not path.is_file():
        relative = path.relative_to(path.parents[2])
        raise VoiceUnavailable(f"no voice function in this checkout: {relative} does not exist")
    return load_handler(path, module_name)


def voice_turn_handler(path: Path = VOICE_TURN_HANDLER) -> Handler:
    """`functions/voice_turn/handler.handler`: the Lex V2 code hook."""
    return _voice_handler(path, "careline_voice_turn_handler")


def voice_contact_handler(path: Path = VOICE_CONTACT_HANDLER) -> Handler:
    """`functions/voice_contact/handler.handler`: the contact flow's call-start Lambda."""
    return _voice_handler(path, "careline_voice_contact_handler")


def _lambda_context(function: str) -> composition.LocalLambdaContext:
    name = f"careline-{function}-local"
    return composition.LocalLambdaContext(
        function_name=name,
        invoked_function_arn=f"arn:aws:lambda:us-west-2:123456789012:function:{name}",
        log_group_name=f"/aws/lambda/{name}",
    )


class LocalStack:
    """One Careline stack on the local machine.

    Actions (inbound texts, jobs) run one at a time under a lock, so what an action caused is
    exactly what changed in the outbox and the table while it ran.
    """

    def __init__(
        self,
        *,
        resources: LocalResources,
        clock: LocalClock,
        config: PracticeConfig,
        fhir_base_url: str | None = None,
    ) -> None:
        self._resources = resources
        self._clock = clock
        self.config = config
        self.fhir_base_url = fhir_base_url
        self.messenger = OutboxMessenger(clock)
        self._lock = threading.RLock()
        # One party-key object for the handler and for our own look-ups, reading the secret through
        # a client made now, so it reaches whichever moto is active.
        secrets = session(resources.region).client("secretsmanager")
        self._party_keys = HmacSubjectKeys(
            resources.hash_secret_arn,
            fetch_secret=lambda arn: secrets.get_secret_value(SecretId=arn)["SecretString"],
        )
        self._models = bind_models(
            resources.table_name, region=resources.region, host=os.environ.get("AWS_ENDPOINT_URL")
        )
        self._overrides = composition.Overrides(
            clock=clock, messenger=self.messenger, config=config, keys=self._party_keys
        )
        composition.install_overrides(self._overrides)
        self._outage: _Outage | None = None
        self._handler = sms_handler()
        self._calls: dict[str, Call] = {}

    def close(self) -> None:
        self.ehr_up()
        composition.reset_runtime()

    @property
    def resources(self) -> LocalResources:
        return self._resources

    @property
    def clock(self) -> LocalClock:
        return self._clock

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.config.practice.timezone)

    @property
    def practice_number(self) -> str:
        return self.config.practice.phone

    # -- actions -----------------------------------------------------------------------------------

    def send_sms(self, from_number: str, text: str) -> Outcome:
        """Deliver an inbound SMS through the real handler; returns what it caused."""
        event = inbound_sms_event(
            from_number=from_number, to_number=self.practice_number, text=text, at=self._clock.now()
        )
        _summary, outcome = self._observe(lambda: self._handler(event, composition.LocalLambdaContext()))
        return outcome

    def run_job(self, name: str) -> tuple[JobReport, Outcome]:
        job = get_job(name)
        return self._observe(lambda: job(self))

    @property
    def ehr_is_down(self) -> bool:
        return self._outage is not None

    def ehr_down(self) -> None:
        """Make the EHR unreachable for the following turns (see the module docstring)."""
        with self._lock:
            if self._outage is not None:
                return
            previous = os.environ.get(FHIR_BASE_URL_VARIABLE)
            if not previous:
                raise EhrNotConfigured(f"no EHR to take down: {FHIR_BASE_URL_VARIABLE} is not set")
            refusing = _refusing_port()
            port = refusing.getsockname()[1]
            self._outage = _Outage(refusing=refusing, previous_url=previous)
            os.environ[FHIR_BASE_URL_VARIABLE] = f"http://127.0.0.1:{port}/fhir"
            composition.install_overrides(self._overrides)  # rebuilt on the next turn, same overrides

    def ehr_up(self) -> None:
        """End a staged outage: the real FHIR base URL again, and a freshly built runtime."""
        with self._lock:
            outage, self._outage = self._outage, None
            if outage is None:
                return
            os.environ[FHIR_BASE_URL_VARIABLE] = outage.previous_url
            outage.refusing.close()
            composition.install_overrides(self._overrides)

    # -- calls -------------------------------------------------------------------------------------

    def start_call(self, from_number: str) -> CallStart:
        """A call from `from_number` to the practice: the contact flow's call-start function runs
        and its greeting is what Lex says first."""
        handler = voice_contact_handler()
        contact_id = str(uuid.uuid4())
        event = contact_flow_event(contact_id=contact_id, caller=from_number, dialed=self.practice_number)
        with self._lock:
            result, outcome = self._observe(lambda: handler(event, _lambda_context("voice-contact")))
            greeting_ssml, after_hours = check_contact_response(result)
            call = Call(
                call_id=contact_id,
                caller=from_number,
                dialed=self.practice_number,
                instance_arn=instance_arn_of(event),
                started_at=self._clock.now(),
                greeting=ssml_to_text(greeting_ssml),
                after_hours=after_hours,
            )
            self._calls[contact_id] = call
        return CallStart(
            call_id=contact_id,
            greeting=call.greeting,
            greeting_ssml=greeting_ssml,
            after_hours=after_hours,
            outcome=outcome,
        )

    def say(self, call_id: str, text: str, *, asr_confidence: float | None = None) -> CallTurn:
        """The caller says `text` (a Speech turn; `asr_confidence` is Lex's transcription confidence)."""
        return self._call_turn(call_id, text, "Speech", asr_confidence=asr_confidence)

    def press(self, call_id: str, digits: str) -> CallTurn:
        """The caller keys `digits` on the phone's keypad (one DTMF turn)."""
        return self._call_turn(call_id, digits, "DTMF")

    def hang_up(self, call_id: str) -> Call:
        """The caller hangs up; the call takes no more turns (hanging up twice is harmless)."""
        with self._lock:
            call = self.call(call_id)
            if not call.ended:
                call.ended_by = "hangup"
            return call

    def call(self, call_id: str) -> Call:
        with self._lock:
            call = self._calls.get(call_id)
            if call is None:
                raise UnknownCall(f"no call {call_id!r}")
            return call

    def open_call_from(self, number: str) -> Call | None:
        """The call `number` is on now, if any (the latest one that has not ended)."""
        with self._lock:
            open_calls = [c for c in self._calls.values() if c.caller == number and not c.ended]
        return open_calls[-1] if open_calls else None

    def _call_turn(
        self, call_id: str, text: str, mode: InputMode, *, asr_confidence: float | None = None
    ) -> CallTurn:
        handler = voice_turn_handler()
        with self._lock:
            call = self.call(call_id)
            if call.ended:
                how = {
                    "hangup": "the caller hung up",
                    "transfer": f"it was transferred to the {call.transfer_queue} queue",
                    "close": "Lex closed the conversation and the flow disconnected",
                }[call.ended_by or "close"]
                raise CallClosed(f"call {call_id} has ended ({how}); start a new call")
            event = lex_event(
                contact_id=call.call_id,
                caller=call.caller,
                dialed=call.dialed,
                text=text,
                mode=mode,
                session_attributes=call.session_attributes,
                previous_state=call.last_state,
                asr_confidence=asr_confidence,
                instance_arn=call.instance_arn,
            )
            raw, outcome = self._observe(lambda: handler(event, _lambda_context("voice-turn")))
            response = check_lex_response(raw)
            state = response["sessionState"]
            # Lex keeps the session attributes the response returns for the rest of the session.
            call.session_attributes = dict(state.get("sessionAttributes") or {})
            call.last_state = state
            call.turns += 1
            action = str(state["dialogAction"]["type"])
            if action == "Close":
                queue = call.session_attributes.get(TRANSFER_QUEUE_ATTRIBUTE) or None
                call.transfer_queue = queue
                call.escalation_id = call.session_attributes.get(ESCALATION_ID_ATTRIBUTE) or None
                call.ended_by = "transfer" if queue else "close"
        return CallTurn(
            call_id=call_id,
            mode=mode,
            spoken=spoken_lines(response),
            lex_response=response,
            dialog_action=action,
            ended=call.ended,
            transfer_queue=call.transfer_queue,
            escalation_id=call.escalation_id,
            outcome=outcome,
        )

    def _observe(self, action: Callable[[], T]) -> tuple[T, Outcome]:
        with self._lock:
            sent_before = len(self.messenger)
            escalations_before = {e.escalation_id for e in self.escalations()}
            result = action()
            sent = [SentSms.from_outbox(m) for m in self.messenger.list()[sent_before:]]
            created = [e for e in self.escalations() if e.escalation_id not in escalations_before]
        return result, Outcome(sent=sent, escalations=created)

    # -- state -------------------------------------------------------------------------------------

    def outbox(self) -> list[SentSms]:
        return [SentSms.from_outbox(m) for m in self.messenger.list()]

    def escalations(self) -> list[EscalationView]:
        """Every escalation in the table, oldest first (a scan: fine for a local table)."""
        model = self._models.escalation
        views = [
            EscalationView(
                escalation_id=item.escalation_id,
                reason=item.reason,
                urgency=item.urgency,
                queue=item.queue,
                status=item.status,
                channel=item.channel,
                created_at=item.created_at.isoformat(),
            )
            for item in model.scan(model.sk.startswith(ESCALATION_PREFIX))
        ]
        return sorted(views, key=lambda e: (e.created_at, e.escalation_id))

    def is_opted_out(self, phone: str) -> bool:
        """Whether Careline holds `phone` as opted out (a number never heard from is not)."""
        party = self._party_keys.party_for_phone(phone)
        try:
            item = self._models.context.get(party_pk(party), CONTEXT_SK, consistent_read=True)
        except DoesNotExist:
            return False
        return bool(item.opted_out)

    def job_names(self) -> list[str]:
        return job_names()

    def clock_json(self) -> dict[str, Any]:
        now = self._clock.now()
        return {
            "now": now.isoformat(),
            "local": now.astimezone(self.timezone).isoformat(),
            "timezone": self.config.practice.timezone,
        }

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "clock": self._clock.now().isoformat(),
            "fhir": self.fhir_base_url,
            "table": self._resources.table_name,
        }
