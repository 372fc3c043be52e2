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

Escalations (see `careline_local.aws`): after every action, the events the start rule matched are
handed to `functions/escalation_start/handler` (as EventBridge would invoke it), which starts the
real state machine in moto; its Lambda tasks run the real `functions/escalation_*` handlers here.
The action then waits (briefly, polling) until every running execution is either waiting for an
agent (the task token is kept on its escalation) or finished, so what an action caused includes
what the workflow did. Time is the local clock's: the `escalation_sla` job fails the waits whose SLA
has passed on it (`Careline.SlaExpired`), since moto's own timeouts run in real time. The agent
panel accepts through `DynamoEscalationStore.accept` and sends `SendTaskSuccess` with the token;
`escalation_executions()` then shows the execution SUCCEEDED.

Reminders (see `careline_local.campaign`): the `risk_scoring` and `waitlist` jobs invoke
`functions/risk_scoring` and `functions/waitlist_offers` in-process, as Scheduler would; the
`reminders` job starts the campaign state machine in moto (its Plan task routed to
`functions/reminder_plan` here, as the escalation tasks are) and drains the send queue into
`functions/reminder_send`. Emails go to an outbox (`OutboxEmail`) the way texts do, and what an
action caused includes the emails it sent.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from careline import composition
from careline.config import PracticeConfig
from careline.conversation.model import EscalationReason, Queue, Urgency
from careline.escalation.model import AWAITING_AGENT, EscalationStatus
from careline.escalation.policy import follow_up_window, sla_for
from careline.escalation.workflow import SLA_EXPIRED_ERROR, START_FUNCTION, TASK_FUNCTIONS
from careline.messaging import OutboxMessage, OutboxMessenger
from careline.messaging.outbox import OutboxEmail, OutboxEmailMessage
from careline.observability import metrics
from careline.reminders.model import WatchedVisit
from careline.store import KmsFieldCipher, bind_models
from careline.store.escalations import DynamoEscalationStore, find_escalation_item
from careline.store.models import CONTEXT_SK, ESCALATION_PREFIX, EscalationItem, party_pk
from careline.store.verification import HmacSubjectKeys
from pynamodb.exceptions import DoesNotExist

from careline_local.aws import (
    REMINDER_PLAN_FUNCTION,
    REMINDER_SEND_FUNCTION,
    RISK_SCORING_FUNCTION,
    EscalationResources,
    LambdaRoutes,
    LocalResources,
    ReminderResources,
    install_lambda_routes,
    session,
    share_service_models,
    uninstall_lambda_routes,
)
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
from careline_local.campaign import CampaignRun, run_campaign
from careline_local.clock import LocalClock
from careline_local.jobs import JobReport, get_job, job_names
from careline_local.paths import REPO_ROOT, SMS_HANDLER, VOICE_CONTACT_HANDLER, VOICE_TURN_HANDLER
from careline_local.reminder_views import reminder_activity
from careline_local.sms_events import inbound_sms_event
from careline_local.voice_events import InputMode, contact_flow_event, instance_arn_of, lex_event

T = TypeVar("T")

log = logging.getLogger("careline_local.stack")

# How long an action waits for the escalation workflows it set off to reach a wait or an end, and
# how often it looks. A step of the workflow takes milliseconds in moto; this is a safety net.
WORKFLOW_SETTLE_SECONDS = 10.0
WORKFLOW_POLL_SECONDS = 0.01


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
class SentEmail:
    """One email Careline sent (to the email outbox)."""

    to: str
    subject: str
    body: str
    at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"to": self.to, "subject": self.subject, "body": self.body, "at": self.at.isoformat()}


def _sent_email(email: OutboxEmailMessage) -> SentEmail:
    """An `OutboxEmail` entry as the stack reports it."""
    return SentEmail(to=email.to, subject=email.subject, body=email.body, at=email.at)


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
    party_id: str = ""  # the keyed hash of the patient's number (not shown on the page)

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
    emails: list[SentEmail] = field(default_factory=list)

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


def function_handler(folder: str) -> Handler:
    """`functions/<folder>/handler.handler`, imported once."""
    path = REPO_ROOT / "functions" / folder / "handler.py"
    if not path.is_file():
        raise FunctionUnavailable(
            f"no function in this checkout: functions/{folder}/handler.py does not exist"
        )
    return load_handler(path, f"careline_{folder}_handler")


def escalation_handler(folder: str) -> Handler:
    """`functions/<folder>/handler.handler`, one of the escalation workflow's functions."""
    return function_handler(folder)


def _routed_on_first_call(folder: str) -> Handler:
    """A route to `functions/<folder>` that imports it when moto first invokes it."""

    def call(event: dict[str, Any], context: Any) -> Any:
        return function_handler(folder)(event, context)

    return call


class FunctionUnavailable(RuntimeError):
    """A job needs a function this checkout does not have."""


@dataclass(frozen=True)
class Page:
    """A message the workflow published to the on-call or the supervisor topic."""

    topic: str  # "on_call" | "supervisor"
    subject: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"topic": self.topic, "subject": self.subject, "message": self.message}


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
        share_service_models()
        self._resources = resources
        self._clock = clock
        self.config = config
        self.fhir_base_url = fhir_base_url
        self.messenger = OutboxMessenger(clock)
        self.emails = OutboxEmail(clock)
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
            clock=clock, messenger=self.messenger, config=config, keys=self._party_keys, email=self.emails
        )
        composition.install_overrides(self._overrides)
        self._outage: _Outage | None = None
        self._handler = sms_handler()
        self._calls: dict[str, Call] = {}
        self._pages: list[Page] = []
        self._clients: dict[str, Any] = {}
        # executions this stack started that were still running when it last looked
        self._running: set[str] = set()
        self._workflow = resources.escalation
        self._campaign = resources.reminders
        self._routes = self._route_functions()

    def close(self) -> None:
        self._stop_workflows()
        if self._routes is not None:
            uninstall_lambda_routes(self._routes)
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

    def invoke_function(self, folder: str, event: dict[str, Any]) -> Any:
        """`functions/<folder>`'s handler, run here as its trigger would invoke it (a job's part)."""
        return function_handler(folder)(event, _lambda_context(folder.replace("_", "-")))

    @property
    def campaign(self) -> ReminderResources:
        if self._campaign is None:
            raise FunctionUnavailable(
                "no reminder campaign in this checkout: statemachines/reminders.asl.json does not exist"
            )
        return self._campaign

    def run_reminder_campaign(self) -> CampaignRun:
        """One campaign run (see `careline_local.campaign`), with what it sent counted."""
        campaign = self.campaign
        with self._lock:
            sms_before, emails_before = len(self.messenger), len(self.emails)
            call_task = EscalationReason.REMINDER_CALL.value
            calls_before = {e.escalation_id for e in self.escalations() if e.reason == call_task}
            run = run_campaign(
                campaign,
                stepfunctions=self._client("stepfunctions"),
                sqs=self._client("sqs"),
                region=self._resources.region,
                now=self._clock.now(),
                deliver=lambda event: self.invoke_function(REMINDER_SEND_FUNCTION, event),
                plan_result=self._plan_result,
            )
            run.sms = len(self.messenger) - sms_before
            run.emails = len(self.emails) - emails_before
            run.call_tasks = len(
                [
                    e
                    for e in self.escalations()
                    if e.reason == call_task and e.escalation_id not in calls_before
                ]
            )
        return run

    def _plan_result(self, execution_arn: str) -> dict[str, Any] | None:
        """What the execution's Plan task returned, from its history."""
        history = self._client("stepfunctions").get_execution_history(
            executionArn=execution_arn, maxResults=1000
        )["events"]
        for event in history:
            details = event.get("taskSucceededEventDetails")
            if details and details.get("resourceType") == "lambda":
                output = json.loads(details.get("output") or "{}")
                payload = output.get("Payload", output) if isinstance(output, dict) else None
                return payload if isinstance(payload, dict) else None
        return None

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

    def observe(self, action: Callable[[], T]) -> tuple[T, Outcome]:
        """Run `action` (say, an agent panel request) as one of the stack's actions: alone, then with
        the escalation workflows it set off started and at rest; returns its result and what it caused."""
        return self._observe(action)

    def _observe(self, action: Callable[[], T]) -> tuple[T, Outcome]:
        with self._lock:
            sent_before, emails_before = len(self.messenger), len(self.emails)
            escalations_before = {e.escalation_id for e in self.escalations()}
            result = action()
            self._start_escalation_workflows()
            self._settle_workflows()
            sent = [SentSms.from_outbox(m) for m in self.messenger.list()[sent_before:]]
            emails = [_sent_email(m) for m in self.emails.list()[emails_before:]]
            created = [e for e in self.escalations() if e.escalation_id not in escalations_before]
        return result, Outcome(sent=sent, escalations=created, emails=emails)

    # -- state -------------------------------------------------------------------------------------

    def outbox(self) -> list[SentSms]:
        return [SentSms.from_outbox(m) for m in self.messenger.list()]

    def email_outbox(self) -> list[SentEmail]:
        return [_sent_email(m) for m in self.emails.list()]

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
                party_id=str(item.party_id),
            )
            for item in model.scan(model.sk.startswith(ESCALATION_PREFIX))
        ]
        return sorted(views, key=lambda e: (e.created_at, e.escalation_id))

    def party_of(self, phone: str) -> str:
        """The party id (keyed hash) Careline files `phone`'s conversation and escalations under."""
        return self._party_keys.party_for_phone(phone)

    def watched_visit(self, appointment_id: str) -> WatchedVisit | None:
        """The visit as the reminder side stores it (scored, tiered, its outcome), if it watches it."""
        return composition.get_reminder_runtime().reminders.visit(appointment_id)

    def on_waitlist(self, patient_id: str) -> bool:
        """Whether the patient (their EHR id) is on the waitlist now."""
        return composition.get_reminder_runtime().waitlist.entry(patient_id) is not None

    def reminders_json(self) -> dict[str, Any]:
        """Watched visits, what the campaign and the backfill sent, and the freed slots (no PHI)."""
        return reminder_activity(self._resources, self._clock.now())

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

    # -- the escalation workflow -------------------------------------------------------------------

    @property
    def workflow(self) -> EscalationResources:
        if self._workflow is None:
            raise RuntimeError("this stack was provisioned without the escalation workflow")
        return self._workflow

    @property
    def lambda_routes(self) -> LambdaRoutes:
        """Every invocation the state machine made of a local handler (tests read it)."""
        if self._routes is None:
            raise RuntimeError("this stack was provisioned without the escalation workflow")
        return self._routes

    def escalation_store(self) -> DynamoEscalationStore:
        """The escalation store over this stack's table (what the agent panel uses)."""
        return DynamoEscalationStore(
            self._resources.table_name,
            KmsFieldCipher(self._resources.kms_key_arn),
            self.config.deployment.retention_days,
            self._clock,
            region=self._resources.region,
            host=os.environ.get("AWS_ENDPOINT_URL"),
        )

    def escalation_executions(self) -> dict[str, str]:
        """The status of each escalation's execution (RUNNING, SUCCEEDED, FAILED...), by escalation
        id, once every running one has reached a wait or its end."""
        if self._workflow is None:
            return {}
        with self._lock:
            self._settle_workflows()
            return {e["name"]: e["status"] for e in self._executions()}

    def escalation_history(self, escalation_id: str) -> list[dict[str, Any]]:
        """The execution history of one escalation's workflow (what anyone with SFN read can see)."""
        arn = self._execution_arn(escalation_id)
        client = self._client("stepfunctions")
        events: list[dict[str, Any]] = client.get_execution_history(executionArn=arn, maxResults=1000)[
            "events"
        ]
        return events

    def escalation_pages(self) -> list[Page]:
        """Every page the workflow published (on-call and supervisor topics), oldest first."""
        if self._workflow is None:
            return []
        with self._lock:
            sqs = self._client("sqs")
            topics = {
                self._workflow.on_call_topic_arn: "on_call",
                self._workflow.supervisor_topic_arn: "supervisor",
            }
            while True:
                batch = sqs.receive_message(QueueUrl=self._workflow.pages_queue_url, MaxNumberOfMessages=10)
                messages = batch.get("Messages", [])
                if not messages:
                    break
                for message in messages:
                    envelope = json.loads(message["Body"])
                    self._pages.append(
                        Page(
                            topic=topics.get(envelope.get("TopicArn", ""), "unknown"),
                            subject=str(envelope.get("Subject") or ""),
                            message=str(envelope.get("Message") or ""),
                        )
                    )
                    sqs.delete_message(
                        QueueUrl=self._workflow.pages_queue_url, ReceiptHandle=message["ReceiptHandle"]
                    )
            return list(self._pages)

    def workflow_sms(self) -> list[SentSms]:
        """The texts the escalation workflow sent patients (they go through the same outbox)."""
        if self._routes is None or self._workflow is None:
            return []
        sla_function = self.workflow.functions[TASK_FUNCTIONS["SlaExpiredFunctionArn"]]
        ids = {
            str(call.result["message_id"])
            for call in list(self._routes.invocations)
            if call.function == sla_function
            and isinstance(call.result, dict)
            and call.result.get("message_id")
        }
        return [m for m in self.outbox() if m.id in ids]

    def expire_escalation_slas(self) -> dict[str, int]:
        """Fail every wait whose deadline has passed on the local clock with `Careline.SlaExpired`
        (the SLA of an open escalation; the follow-up window of a timed-out one), as Step Functions'
        own timeout would in AWS; returns counts. The workflow then goes on as in AWS."""
        if self._workflow is None:
            return {"expired": 0, "waiting": 0}
        now = self._clock.now()
        client = self._client("stepfunctions")
        expired: list[tuple[str, str, str]] = []
        waiting = 0
        for item in self._awaiting_items():
            deadline = self._wait_deadline(item)
            if deadline is None or deadline > now:
                waiting += 1
                continue
            token = str(item.task_token)
            try:
                client.send_task_failure(
                    taskToken=token,
                    error=SLA_EXPIRED_ERROR,
                    cause="The local clock passed the escalation's SLA (careline local: escalation_sla job).",
                )
            except (
                client.exceptions.TaskTimedOut,
                client.exceptions.TaskDoesNotExist,
                client.exceptions.InvalidToken,
            ):
                continue  # that wait is over already
            expired.append((str(item.party_id), str(item.escalation_id), token))
        # The failure reaches the execution on its own thread: wait until each wait has moved on (its
        # token dropped or replaced), so the settling that follows sees the new state.
        for party_id, escalation_id, token in expired:
            self._wait_until(lambda p=party_id, e=escalation_id, t=token: self._token_moved_on(p, e, t))
        return {"expired": len(expired), "waiting": waiting}

    def _wait_deadline(self, item: EscalationItem) -> datetime | None:
        urgency = Urgency(item.urgency)
        if item.status == EscalationStatus.OPEN.value:
            return item.created_at + sla_for(self.config, urgency, Queue(item.queue))
        if item.status == EscalationStatus.TIMED_OUT.value and item.timed_out_at is not None:
            return item.timed_out_at + follow_up_window(self.config)
        return None

    def _awaiting_items(self) -> list[EscalationItem]:
        model = self._models.escalation
        awaiting = [s.value for s in AWAITING_AGENT]
        condition = (
            model.sk.startswith(ESCALATION_PREFIX) & model.status.is_in(*awaiting) & model.task_token.exists()
        )
        return list(model.scan(condition))

    def _token_moved_on(self, party_id: str, escalation_id: str, token: str) -> bool:
        """The wait holding `token` is over: the escalation dropped or replaced it, or the execution
        ended (nobody took it in the follow-up window either)."""
        item = find_escalation_item(self._models, party_id, escalation_id)
        if item is None or item.task_token != token or item.status not in {s.value for s in AWAITING_AGENT}:
            return True
        described = self._client("stepfunctions").describe_execution(
            executionArn=self._execution_arn(escalation_id)
        )
        return bool(described["status"] != "RUNNING")

    def _client(self, service: str) -> Any:
        """One client per service for this stack (made on first use, so it reaches this stack's moto)."""
        client = self._clients.get(service)
        if client is None:
            client = self._clients[service] = session(self._resources.region).client(service)
        return client

    def _route_functions(self) -> LambdaRoutes | None:
        """Route moto's invocations of the state machines' functions to the real handlers here."""
        handlers: dict[str, Handler] = {}
        if self._workflow is not None:
            functions = self._workflow.functions
            handlers.update(
                {functions[folder]: escalation_handler(folder) for folder in TASK_FUNCTIONS.values()}
            )
        if self._campaign is not None:
            handlers[self._campaign.plan_function] = _routed_on_first_call(REMINDER_PLAN_FUNCTION)
            handlers[self._campaign.scoring_function] = _routed_on_first_call(RISK_SCORING_FUNCTION)
        if not handlers:
            return None
        contexts = {name: _lambda_context(name.removeprefix("careline-local-")) for name in handlers}
        routes = LambdaRoutes(handlers=handlers, context_for=lambda name: contexts[name])
        install_lambda_routes(routes)
        return routes

    def _start_escalation_workflows(self) -> None:
        """Hand what the start rule matched to `functions/escalation_start` (EventBridge's part)."""
        if self._workflow is None:
            return
        sqs = self._client("sqs")
        start = escalation_handler(START_FUNCTION)
        delivered = 0
        while True:
            batch = sqs.receive_message(QueueUrl=self._workflow.start_queue_url, MaxNumberOfMessages=10)
            messages = batch.get("Messages", [])
            if not messages:
                break
            for message in messages:
                start(json.loads(message["Body"]), _lambda_context("escalation-start"))
                sqs.delete_message(
                    QueueUrl=self._workflow.start_queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
                delivered += 1
        if delivered:
            self._running.update(e["name"] for e in self._executions("RUNNING"))

    def _executions(self, status: str | None = None) -> list[dict[str, Any]]:
        client = self._client("stepfunctions")
        arguments: dict[str, Any] = {"stateMachineArn": self.workflow.state_machine_arn}
        if status is not None:
            arguments["statusFilter"] = status
        executions: list[dict[str, Any]] = []
        for page in client.get_paginator("list_executions").paginate(**arguments):
            executions.extend(page["executions"])
        return executions

    def _execution_arn(self, escalation_id: str) -> str:
        machine = self.workflow.state_machine_arn
        return f"{machine.replace(':stateMachine:', ':execution:')}:{escalation_id}"

    def _settled(self, escalation_id: str) -> bool:
        """At rest: ended, or waiting for an agent (its last step kept the task token, and the
        escalation still awaits one with a token: an accepted or closed one is about to end, a
        timed-out one without a token is between its SLA step and its second wait)."""
        last = self.lambda_routes.last_for(escalation_id)
        await_function = self.workflow.functions[TASK_FUNCTIONS["AwaitAgentFunctionArn"]]
        if (
            last is not None
            and last.function == await_function
            and isinstance(last.result, dict)
            and last.result.get("waiting")
        ):
            item = find_escalation_item(self._models, str(last.event.get("party_id", "")), escalation_id)
            if item is not None and item.status in {s.value for s in AWAITING_AGENT} and item.task_token:
                return True
        client = self._client("stepfunctions")
        if client.describe_execution(executionArn=self._execution_arn(escalation_id))["status"] == "RUNNING":
            return False
        self._running.discard(escalation_id)
        return True

    def _settle_workflows(self) -> None:
        """Wait until every execution this stack started is at rest (see `_settled`), waking on each
        finished step rather than polling moto; a state between steps (a page, a choice) is looked at
        again after a short wait."""
        if self._workflow is None or not self._running:
            return
        routes = self.lambda_routes
        pending = sorted(self._running)
        deadline = time.monotonic() + WORKFLOW_SETTLE_SECONDS
        pause = WORKFLOW_POLL_SECONDS
        while pending:
            if not routes.busy:
                pending = [e for e in pending if not self._settled(e)]
                if not pending:
                    return
            if time.monotonic() > deadline:
                log.warning("escalation workflows still busy after %.0f s", WORKFLOW_SETTLE_SECONDS)
                return
            routes.wait_for_change(pause)
            pause = min(pause * 2, 0.1)

    @staticmethod
    def _wait_until(condition: Callable[[], bool]) -> bool:
        deadline = time.monotonic() + WORKFLOW_SETTLE_SECONDS
        while not condition():
            if time.monotonic() > deadline:
                return False
            time.sleep(WORKFLOW_POLL_SECONDS)
        return True

    def _stop_workflows(self) -> None:
        """Stop every running execution: its worker threads must not outlive this stack's moto."""
        if self._workflow is None:
            return
        client = self._client("stepfunctions")
        try:
            running = self._executions("RUNNING")
        except Exception:  # noqa: BLE001 - moto may already be gone; nothing left to stop then
            return
        for execution in running:
            client.stop_execution(executionArn=execution["executionArn"], cause="local stack closed")

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
