"""The one composition root: settings from the environment, adapters, engine and service, wired.

A Lambda handler calls `get_runtime()` (built once per container, on first use); the local runtime
and tests call `install_overrides(...)` first to inject their clock, outbox, config or fakes, and
`reset_runtime()` to start afresh. Importing this module creates no AWS client and reads no file.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from careline.config import PracticeConfig, load_practice_config
from careline.conversation.model import InboundMessage
from careline.errors import ConfigError
from careline.ports import Clock, ContextStore, Ehr, EventBus, Messenger, PartyKeys

if TYPE_CHECKING:
    import boto3
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    from careline.channels.quarantine import SqsQuarantine
    from careline.conversation.service import TurnService
    from careline.ehr.resilience import TurnBudget
    from careline.identity.ports import SubjectKeys, VerificationLedger
    from careline.reminders.outcomes import VisitChanges
    from careline.reminders.ports import EmailSender, ScheduleSource
    from careline.risk.model import RiskModel
    from careline.store.cipher import FieldCipher
    from careline.store.verification import HmacSubjectKeys
    from careline.waitlist.ports import WaitlistStore

IDEMPOTENCY_FUNCTION = "sms_inbound"
# SNS plus Lambda async retries can redeliver for hours; a day covers every redelivery path.
IDEMPOTENCY_EXPIRY_SECONDS = 24 * 60 * 60


_S = TypeVar("_S", bound=BaseModel)


def _read_environment(model: type[_S], environ: Mapping[str, str] | None) -> _S:
    """`model` validated from the environment (an empty variable is as good as a missing one;
    AWS_DEFAULT_REGION stands in for AWS_REGION); `ConfigError` names each missing or bad variable."""
    env = dict(os.environ if environ is None else environ)
    if not env.get("AWS_REGION") and env.get("AWS_DEFAULT_REGION"):
        env["AWS_REGION"] = env["AWS_DEFAULT_REGION"]
    try:
        return model.model_validate({k: v for k, v in env.items() if v != ""})
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_input=False, include_url=False):
            name = ".".join(str(p) for p in err["loc"])
            message = "is not set" if err["type"] == "missing" else err["msg"]
            problems.append(f"{name} {message}" if name else message)
        raise ConfigError("invalid Careline environment:\n  " + "\n  ".join(problems)) from None


class Settings(BaseModel):
    """The environment contract of docs/architecture.md, validated once per container."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    config_path: Path = Field(alias="CARELINE_CONFIG_PATH")
    table_name: str = Field(alias="CARELINE_TABLE_NAME", min_length=3, max_length=255)
    kms_key_arn: str = Field(
        alias="CARELINE_KMS_KEY_ARN", pattern=r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/.+$"
    )
    hash_secret_arn: str = Field(alias="CARELINE_HASH_SECRET_ARN", min_length=1)
    event_bus_name: str = Field(alias="CARELINE_EVENT_BUS_NAME", min_length=1)
    quarantine_queue_url: str = Field(alias="CARELINE_QUARANTINE_QUEUE_URL", pattern=r"^https?://\S+$")
    messenger: Literal["sms", "outbox"] = Field(default="sms", alias="CARELINE_MESSENGER")
    origination_identity: str | None = Field(default=None, alias="CARELINE_ORIGINATION_IDENTITY")
    sms_configuration_set: str | None = Field(default=None, alias="CARELINE_SMS_CONFIGURATION_SET")
    # The EHR: a Secrets Manager secret holding the FHIR connection (SMART backend services) in
    # AWS, or a FHIR base URL with no auth for the local dev server. Neither: no EHR, and the
    # appointment intents say honestly that a person will help.
    ehr_secret_arn: str | None = Field(default=None, alias="CARELINE_EHR_SECRET_ARN")
    fhir_base_url: str | None = Field(default=None, alias="CARELINE_FHIR_BASE_URL", pattern=r"^https?://\S+$")
    region: str | None = Field(default=None, alias="AWS_REGION")
    endpoint_url: str | None = Field(default=None, alias="AWS_ENDPOINT_URL")

    @model_validator(mode="after")
    def _sms_needs_an_identity(self) -> Settings:
        if self.messenger == "sms" and not self.origination_identity:
            raise ValueError("CARELINE_ORIGINATION_IDENTITY is required when CARELINE_MESSENGER=sms")
        return self

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and validate the environment; `ConfigError` names each missing or bad variable."""
        return _read_environment(cls, environ)


class SystemClock:
    """The `Clock` port on the system clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class Overrides:
    """What the local runtime and tests may inject instead of what `Settings` would build.

    Checked with `is not None`, never truthiness: an empty outbox or event recorder is falsy.
    """

    clock: Clock | None = None
    messenger: Messenger | None = None
    config: PracticeConfig | None = None
    event_bus: EventBus | None = None
    store: ContextStore | None = None
    keys: PartyKeys | None = None
    cipher: FieldCipher | None = None
    ehr: Ehr | None = None
    ledger: VerificationLedger | None = None
    # the scheduled side (reminders, scoring, waitlist), and what the engine reports to it
    visit_changes: VisitChanges | None = None
    waitlist: WaitlistStore | None = None
    email: EmailSender | None = None
    schedule: ScheduleSource | None = None
    risk_model: RiskModel | None = None


@dataclass
class Runtime:
    """Everything a handler needs, built once per container."""

    settings: Settings
    config: PracticeConfig
    clock: Clock
    messenger: Messenger
    event_bus: EventBus
    service: TurnService
    quarantine: SqsQuarantine
    idempotency_config: IdempotencyConfig
    # bounds the EHR waits of the turn in progress (a call turn must answer within seconds)
    ehr_budget: TurnBudget
    # `service.handle` under Powertools idempotency keyed on the inbound message id.
    handle_inbound: Callable[[InboundMessage], dict[str, Any]] = field(repr=False)


@dataclass
class LocalLambdaContext:
    """A minimal Lambda context for calling handlers outside Lambda (local runtime, tests)."""

    function_name: str = "careline-sms-inbound-local"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-west-2:123456789012:function:careline-sms-inbound-local"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/careline-sms-inbound-local"
    log_stream_name: str = "local"
    timeout_millis: int = 30_000

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_millis


def _session_for(region: str | None) -> boto3.session.Session:
    import boto3

    return boto3.session.Session(region_name=region)


def build_turn_service(settings: Settings, overrides: Overrides | None = None) -> TurnService:
    """The `TurnService` wired from `settings`, with anything in `overrides` used instead."""
    return _build_parts(settings, overrides or Overrides(), _session_for(settings.region))[0]


def _build_parts(
    settings: Settings, overrides: Overrides, session: boto3.session.Session
) -> tuple[TurnService, PracticeConfig, Clock, Messenger, EventBus, TurnBudget]:
    # One boto3 session for every client of the container: each new session re-reads the
    # service models, which is most of a cold start's client cost.
    from careline.conversation.engine import ConversationEngine
    from careline.conversation.service import TurnService
    from careline.ehr.resilience import TurnBudget

    config = overrides.config if overrides.config is not None else load_practice_config(settings.config_path)
    clock: Clock = overrides.clock if overrides.clock is not None else SystemClock()
    keys = overrides.keys if overrides.keys is not None else _party_keys(settings, session)
    # Every store on the table shares one cipher, and so one cache of data keys. With an injected
    # conversation store (tests) the appointment changes' stores are injected too, or none.
    cipher: FieldCipher | None = None
    if overrides.store is None:
        cipher = _kms_cipher(settings, overrides)
        store = _context_store(settings, settings.table_name, cipher, config, clock)
    else:
        store = overrides.store
    messenger = (
        overrides.messenger if overrides.messenger is not None else _messenger(settings, clock, session)
    )
    event_bus = overrides.event_bus if overrides.event_bus is not None else _event_bus(settings, session)
    budget = TurnBudget(time.monotonic)
    ehr = overrides.ehr if overrides.ehr is not None else _ehr(settings, clock, session, budget)
    verifier = None
    patient_flows = None
    if ehr is not None:
        from careline.conversation.patient_flows import PatientFlows
        from careline.identity import IdentityVerifier

        ledger = overrides.ledger if overrides.ledger is not None else _ledger(settings)
        subject_keys = _subject_keys(keys, settings, session)
        verifier = IdentityVerifier(
            ehr, ledger, clock, subject_keys, timezone=ZoneInfo(config.practice.timezone)
        )
        patient_flows = PatientFlows(store, subject_keys)
    changes: VisitChanges | None = None
    waitlist: WaitlistStore | None = None
    if ehr is not None:
        # appointment changes reach the reminder side (outcomes) and the waitlist (freed times)
        waitlist = overrides.waitlist
        if waitlist is None and cipher is not None:
            waitlist = _waitlist_store(settings, settings.table_name, cipher, _patient_keyer(keys))
        changes = overrides.visit_changes
        if changes is None and cipher is not None and waitlist is not None:
            from careline.reminders.outcomes import RecordedVisitChanges

            reminders = _reminder_store(settings, settings.table_name, cipher, config, _patient_keyer(keys))
            changes = RecordedVisitChanges(reminders, waitlist)
    engine = ConversationEngine(
        config,
        clock,
        ehr=ehr,
        verifier=verifier,
        flows_elsewhere=patient_flows.context_holding if patient_flows is not None else None,
        changes=changes,
        waitlist=waitlist,
    )
    service = TurnService(engine, store, keys, messenger, event_bus, clock, patient_flows)
    return service, config, clock, messenger, event_bus, budget


def _patient_keyer(keys: PartyKeys) -> Callable[[str], str]:
    from careline.identity.ports import SubjectKind
    from careline.store.verification import HmacSubjectKeys

    if not isinstance(keys, HmacSubjectKeys):
        raise ConfigError("the reminder and waitlist stores key patients with the HMAC subject keys")
    return lambda patient_id: keys.subject_key(SubjectKind.PATIENT, patient_id)


def _reminder_store(
    settings: _OnTheTable,
    table_name: str,
    cipher: FieldCipher,
    config: PracticeConfig,
    patient_key: Callable[[str], str],
) -> ReminderStore:
    from careline.store.reminders import DynamoReminderStore

    retention = config.deployment.retention_days
    return DynamoReminderStore(
        table_name, cipher, retention, patient_key, region=settings.region, host=settings.endpoint_url
    )


def _waitlist_store(
    settings: _OnTheTable, table_name: str, cipher: FieldCipher, patient_key: Callable[[str], str]
) -> WaitlistStore:
    from careline.store.waitlist import DynamoWaitlistStore

    return DynamoWaitlistStore(
        table_name, cipher, patient_key, region=settings.region, host=settings.endpoint_url
    )


def _party_keys(settings: Settings, session: boto3.session.Session) -> PartyKeys:
    # HmacSubjectKeys is HmacPartyKeys plus the verification subjects' keys, over the same secret.
    from careline.store.verification import HmacSubjectKeys as HmacPartyKeys

    if settings.endpoint_url:
        # Powertools' default secrets provider ignores our endpoint; give it a client that knows it.
        from aws_lambda_powertools.utilities.parameters import SecretsProvider

        provider = SecretsProvider(
            boto3_client=session.client("secretsmanager", endpoint_url=settings.endpoint_url)
        )

        def fetch(arn: str) -> str:
            value = provider.get(arn, max_age=3600)
            return value.decode("utf-8") if isinstance(value, bytes) else str(value)

        return HmacPartyKeys(settings.hash_secret_arn, fetch_secret=fetch)
    return HmacPartyKeys(settings.hash_secret_arn)


def _subject_keys(keys: PartyKeys, settings: Settings, session: boto3.session.Session) -> SubjectKeys:
    from careline.store.verification import HmacSubjectKeys

    # The same HMAC secret keys parties and verification subjects; reuse the party keys' object
    # when it can serve both (the local runtime injects one), so the secret is read once.
    if isinstance(keys, HmacSubjectKeys):
        return keys
    built = _party_keys(settings, session)
    assert isinstance(built, HmacSubjectKeys)
    return built


def _ledger(settings: Settings) -> VerificationLedger:
    from careline.store.verification import DynamoVerificationLedger

    return DynamoVerificationLedger(settings.table_name, region=settings.region, host=settings.endpoint_url)


def _ehr(
    settings: Settings | ReminderSettings, clock: Clock, session: boto3.session.Session, budget: TurnBudget
) -> Ehr | None:
    from careline.ehr.fhir import FhirEhr
    from careline.ehr.smart import EhrConnection, load_connection

    if settings.ehr_secret_arn:
        secrets = session.client("secretsmanager", endpoint_url=settings.endpoint_url)

        def fetch(arn: str) -> str:
            value: str = secrets.get_secret_value(SecretId=arn)["SecretString"]
            return value

        connection = load_connection(settings.ehr_secret_arn, fetch)
    elif settings.fhir_base_url:
        connection = EhrConnection.from_json(
            json.dumps({"fhir_base_url": settings.fhir_base_url, "auth": "none"})
        )
    else:
        return None
    return FhirEhr.connect(connection, now=clock.now, budget=budget)


def _kms_cipher(settings: Settings | AgentSettings, overrides: Overrides) -> FieldCipher:
    if overrides.cipher is not None:
        return overrides.cipher
    from careline.store.cipher import KmsFieldCipher

    return KmsFieldCipher(settings.kms_key_arn)


class _OnTheTable(Protocol):
    """Where the single table is: what every function that reads or writes it is given."""

    @property
    def region(self) -> str | None: ...

    @property
    def endpoint_url(self) -> str | None: ...


def _context_store(
    settings: _OnTheTable, table_name: str, cipher: FieldCipher, config: PracticeConfig, clock: Clock
) -> ContextStore:
    from careline.store.context_store import DynamoContextStore

    retention = config.deployment.retention_days
    return DynamoContextStore(
        table_name, cipher, retention, clock, region=settings.region, host=settings.endpoint_url
    )


def _escalation_store(
    settings: _OnTheTable, table_name: str, cipher: FieldCipher, config: PracticeConfig, clock: Clock
) -> EscalationStore:
    from careline.store.escalations import DynamoEscalationStore

    retention = config.deployment.retention_days
    return DynamoEscalationStore(
        table_name, cipher, retention, clock, region=settings.region, host=settings.endpoint_url
    )


class _SendsSms(Protocol):
    """The settings every function that texts patients reads (the turn, escalation and agent ones)."""

    @property
    def messenger(self) -> Literal["sms", "outbox"]: ...

    @property
    def origination_identity(self) -> str | None: ...

    @property
    def sms_configuration_set(self) -> str | None: ...

    @property
    def endpoint_url(self) -> str | None: ...


def _messenger(settings: _SendsSms, clock: Clock, session: boto3.session.Session) -> Messenger:
    if settings.messenger == "outbox":
        from careline.messaging.outbox import OutboxMessenger

        return OutboxMessenger(clock)
    from careline.messaging.sms import SMS_CLIENT_CONFIG, SmsMessenger

    if not settings.origination_identity:
        raise ConfigError("invalid Careline environment:\n  CARELINE_ORIGINATION_IDENTITY is not set")
    return SmsMessenger(
        session.client("pinpoint-sms-voice-v2", endpoint_url=settings.endpoint_url, config=SMS_CLIENT_CONFIG),
        settings.origination_identity,
        settings.sms_configuration_set,
    )


def _event_bus(settings: Settings, session: boto3.session.Session) -> EventBus:
    from careline.events.bus import EventBridgeBus

    return EventBridgeBus(
        session.client("events", endpoint_url=settings.endpoint_url), settings.event_bus_name
    )


def build_runtime(settings: Settings, overrides: Overrides | None = None) -> Runtime:
    """The turn service plus the handler's own adapters: idempotency and the quarantine queue."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    from careline.channels.quarantine import SqsQuarantine

    session = _session_for(settings.region)
    service, config, clock, messenger, event_bus, budget = _build_parts(
        settings, overrides or Overrides(), session
    )
    persistence = DynamoDBPersistenceLayer(
        table_name=settings.table_name,
        key_attr="pk",
        sort_key_attr="sk",
        expiry_attr="expires_at",
        static_pk_value=f"idempotency#{IDEMPOTENCY_FUNCTION}",
        boto3_client=session.client("dynamodb", endpoint_url=settings.endpoint_url),
    )
    idempotency_config = IdempotencyConfig(
        event_key_jmespath="message_id",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=IDEMPOTENCY_EXPIRY_SECONDS,
        hash_function="sha256",
    )

    @idempotent_function(  # type: ignore[untyped-decorator]
        data_keyword_argument="inbound",
        persistence_store=persistence,
        config=idempotency_config,
        key_prefix=IDEMPOTENCY_FUNCTION,
    )
    def handle_inbound(inbound: InboundMessage) -> dict[str, Any]:
        return service.handle(inbound)

    def call(inbound: InboundMessage) -> dict[str, Any]:
        result: dict[str, Any] = handle_inbound(inbound=inbound)
        return result

    return Runtime(
        settings=settings,
        config=config,
        clock=clock,
        messenger=messenger,
        event_bus=event_bus,
        service=service,
        quarantine=SqsQuarantine(
            session.client("sqs", endpoint_url=settings.endpoint_url),
            settings.quarantine_queue_url,
            source=IDEMPOTENCY_FUNCTION,
        ),
        idempotency_config=idempotency_config,
        ehr_budget=budget,
        handle_inbound=call,
    )


@dataclass(frozen=True)
class GreetingRuntime:
    """What the call-start function needs: the practice config and a clock, nothing stored."""

    config: PracticeConfig
    clock: Clock


_lock = threading.Lock()
_runtime: Runtime | None = None
_greeting_runtime: GreetingRuntime | None = None
_overrides: Overrides | None = None


def get_greeting_runtime() -> GreetingRuntime:
    """The call-start function's runtime: `CARELINE_CONFIG_PATH` only (or the installed overrides)."""
    global _greeting_runtime
    with _lock:
        if _greeting_runtime is None:
            overrides = _overrides or Overrides()
            if overrides.config is not None:
                config = overrides.config
            else:
                path = os.environ.get("CARELINE_CONFIG_PATH")
                if not path:
                    raise ConfigError("invalid Careline environment:\n  CARELINE_CONFIG_PATH is not set")
                config = load_practice_config(Path(path))
            clock = overrides.clock if overrides.clock is not None else SystemClock()
            _greeting_runtime = GreetingRuntime(config=config, clock=clock)
        return _greeting_runtime


def get_runtime() -> Runtime:
    """The container's runtime, built on first use from the environment and installed overrides."""
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = build_runtime(Settings.from_env(), _overrides)
        return _runtime


def install_overrides(overrides: Overrides | None) -> None:
    """Use `overrides` for the next runtime built (the cached one is dropped)."""
    global _overrides, _runtime, _greeting_runtime
    with _lock:
        _overrides = overrides
        _runtime = None
        _greeting_runtime = None


def reset_runtime() -> None:
    """Forget the cached runtime and any installed overrides (tests, local stack restarts)."""
    install_overrides(None)


# --- the escalation workflow's functions (functions/escalation_*) ---------------------------------

if TYPE_CHECKING:
    from careline.escalation.ports import AgentWorkItems, EscalationStore, WorkflowControl


class _PartsSettings(BaseModel):
    """The environment shared by functions whose runtime builds each part on first use (the
    escalation workflow's and the scheduled ones). Everything but the config path is optional: a
    part that needs a missing one gets a `ConfigError` naming it."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    config_path: Path = Field(alias="CARELINE_CONFIG_PATH")
    table_name: str | None = Field(default=None, alias="CARELINE_TABLE_NAME", min_length=3, max_length=255)
    kms_key_arn: str | None = Field(
        default=None, alias="CARELINE_KMS_KEY_ARN", pattern=r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/.+$"
    )
    messenger: Literal["sms", "outbox"] = Field(default="sms", alias="CARELINE_MESSENGER")
    origination_identity: str | None = Field(default=None, alias="CARELINE_ORIGINATION_IDENTITY")
    sms_configuration_set: str | None = Field(default=None, alias="CARELINE_SMS_CONFIGURATION_SET")
    region: str | None = Field(default=None, alias="AWS_REGION")
    endpoint_url: str | None = Field(default=None, alias="AWS_ENDPOINT_URL")

    def require(self, field_name: str) -> str:
        """The value of setting `field_name`, or a `ConfigError` naming its variable."""
        value = getattr(self, field_name)
        if not value:
            alias = type(self).model_fields[field_name].alias
            raise ConfigError(f"invalid Careline environment:\n  {alias} is not set")
        return str(value)


class EscalationSettings(_PartsSettings):
    """The environment of the escalation workflow's functions: each is given only what its step uses."""

    state_machine_arn: str | None = Field(
        default=None,
        alias="CARELINE_ESCALATION_STATE_MACHINE_ARN",
        pattern=r"^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:.+$",
    )
    # the practice's Connect instance and the stack's task flow; unset without a phone line
    connect_instance_id: str | None = Field(default=None, alias="CARELINE_CONNECT_INSTANCE_ID")
    connect_task_flow_id: str | None = Field(default=None, alias="CARELINE_CONNECT_TASK_FLOW_ID")
    agent_panel_url: str | None = Field(
        default=None, alias="CARELINE_AGENT_PANEL_URL", pattern=r"^https?://\S+$"
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> EscalationSettings:
        """Read and validate the environment; `ConfigError` names each missing or bad variable."""
        return _read_environment(cls, environ)


@dataclass(frozen=True)
class EscalationOverrides:
    """What tests and the local runtime may inject into the escalation functions' runtime (on top
    of `Overrides`' clock, messenger, config, store and cipher)."""

    escalations: EscalationStore | None = None
    workflows: WorkflowControl | None = None
    # a work-item creator to use instead of Connect (tests: a Stubber-backed Connect adapter)
    work_items: AgentWorkItems | None = None


class _PartsRuntime:
    """A runtime whose parts are each built on first use (a function builds only what it uses, so
    it needs only that part's environment and grants): config, clock, cipher, the conversation
    store and the SMS sender, shared by the escalation and the scheduled functions."""

    def __init__(self, settings: _PartsSettings, overrides: Overrides) -> None:
        self._settings = settings
        self._overrides = overrides
        self._session = _session_for(settings.region)
        self._parts: dict[str, Any] = {}
        # re-entrant: building one part may build another (the store needs the cipher)
        self._parts_lock = threading.RLock()

    def _part(self, name: str, build: Callable[[], Any]) -> Any:
        with self._parts_lock:
            if name not in self._parts:
                self._parts[name] = build()
            return self._parts[name]

    @property
    def config(self) -> PracticeConfig:
        def build() -> PracticeConfig:
            if self._overrides.config is not None:
                return self._overrides.config
            return load_practice_config(self._settings.config_path)

        config: PracticeConfig = self._part("config", build)
        return config

    @property
    def clock(self) -> Clock:
        return self._overrides.clock if self._overrides.clock is not None else SystemClock()

    def _cipher(self) -> FieldCipher:
        def build() -> FieldCipher:
            if self._overrides.cipher is not None:
                return self._overrides.cipher
            from careline.store.cipher import KmsFieldCipher

            return KmsFieldCipher(self._settings.require("kms_key_arn"))

        cipher: FieldCipher = self._part("cipher", build)
        return cipher

    @property
    def contexts(self) -> ContextStore:
        def build() -> ContextStore:
            if self._overrides.store is not None:
                return self._overrides.store
            table = self._settings.require("table_name")
            return _context_store(self._settings, table, self._cipher(), self.config, self.clock)

        store: ContextStore = self._part("contexts", build)
        return store

    @property
    def messenger(self) -> Messenger:
        def build() -> Messenger:
            if self._overrides.messenger is not None:
                return self._overrides.messenger
            return _messenger(self._settings, self.clock, self._session)

        messenger: Messenger = self._part("messenger", build)
        return messenger


class EscalationRuntime(_PartsRuntime):
    """What the escalation functions use, each part built on first use."""

    def __init__(
        self, settings: EscalationSettings, overrides: Overrides, escalation: EscalationOverrides
    ) -> None:
        super().__init__(settings, overrides)
        self.settings = settings
        self._escalation = escalation

    @property
    def escalations(self) -> EscalationStore:
        def build() -> EscalationStore:
            if self._escalation.escalations is not None:
                return self._escalation.escalations
            table = self.settings.require("table_name")
            return _escalation_store(self.settings, table, self._cipher(), self.config, self.clock)

        store: EscalationStore = self._part("escalations", build)
        return store

    @property
    def workflows(self) -> WorkflowControl:
        def build() -> WorkflowControl:
            if self._escalation.workflows is not None:
                return self._escalation.workflows
            from careline.escalation.stepfunctions import StepFunctionsWorkflow

            client = self._session.client("stepfunctions", endpoint_url=self.settings.endpoint_url)
            return StepFunctionsWorkflow(client, self.settings.require("state_machine_arn"))

        workflows: WorkflowControl = self._part("workflows", build)
        return workflows

    @property
    def work_items(self) -> AgentWorkItems | None:
        """Connect tasks, or None when the practice has no Connect instance (no phone line)."""

        def build() -> AgentWorkItems | None:
            if self._escalation.work_items is not None:
                return self._escalation.work_items
            if not self.settings.connect_instance_id:
                return None
            from careline.escalation.connect_tasks import CONNECT_CLIENT_CONFIG, ConnectAgentTasks

            client = self._session.client(
                "connect", endpoint_url=self.settings.endpoint_url, config=CONNECT_CLIENT_CONFIG
            )
            return ConnectAgentTasks(
                client, self.settings.connect_instance_id, self.settings.require("connect_task_flow_id")
            )

        work_items: AgentWorkItems | None = self._part("work_items", build)
        return work_items


_escalation_lock = threading.Lock()
_escalation_overrides = EscalationOverrides()
_escalation_runtime: tuple[object, EscalationOverrides, EscalationRuntime] | None = None


def get_escalation_runtime() -> EscalationRuntime:
    """The escalation functions' runtime, built on first use from the environment and the installed
    overrides (both kinds); rebuilt whenever either is installed again."""
    global _escalation_runtime
    with _escalation_lock:
        overrides = _overrides
        cached = _escalation_runtime
        if cached is None or cached[0] is not overrides or cached[1] is not _escalation_overrides:
            runtime = EscalationRuntime(
                EscalationSettings.from_env(), overrides or Overrides(), _escalation_overrides
            )
            cached = (overrides, _escalation_overrides, runtime)
            _escalation_runtime = cached
        return cached[2]


def install_escalation_overrides(overrides: EscalationOverrides | None) -> None:
    """Use `overrides` for the escalation functions' next runtime (None: none)."""
    global _escalation_overrides, _escalation_runtime
    with _escalation_lock:
        _escalation_overrides = overrides or EscalationOverrides()
        _escalation_runtime = None


# -- the agent panel (functions/agent_api) ---------------------------------------------------------

if TYPE_CHECKING:
    from careline.agents import AgentPanel
    from careline.agents.page import PanelSettings


class AgentSettings(BaseModel):
    """The agent API's environment: the table, the key, the SMS sender, and where the panel page
    signs in (docs/architecture.md, "Agent panel"). No hash secret: the API is given party ids."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    config_path: Path = Field(alias="CARELINE_CONFIG_PATH")
    table_name: str = Field(alias="CARELINE_TABLE_NAME", min_length=3, max_length=255)
    kms_key_arn: str = Field(
        alias="CARELINE_KMS_KEY_ARN", pattern=r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/.+$"
    )
    messenger: Literal["sms", "outbox"] = Field(default="sms", alias="CARELINE_MESSENGER")
    origination_identity: str | None = Field(default=None, alias="CARELINE_ORIGINATION_IDENTITY")
    sms_configuration_set: str | None = Field(default=None, alias="CARELINE_SMS_CONFIGURATION_SET")
    # the panel page's own address (the API stage's root), the Cognito sign-in domain and app client
    panel_url: str | None = Field(default=None, alias="CARELINE_AGENT_PANEL_URL", pattern=r"^https?://\S+/$")
    auth_domain: str | None = Field(
        default=None, alias="CARELINE_AGENT_AUTH_DOMAIN", pattern=r"^https://\S+$"
    )
    client_id: str | None = Field(default=None, alias="CARELINE_AGENT_CLIENT_ID", min_length=1)
    region: str | None = Field(default=None, alias="AWS_REGION")
    endpoint_url: str | None = Field(default=None, alias="AWS_ENDPOINT_URL")

    @model_validator(mode="after")
    def _complete(self) -> AgentSettings:
        if self.messenger == "sms" and not self.origination_identity:
            raise ValueError("CARELINE_ORIGINATION_IDENTITY is required when CARELINE_MESSENGER=sms")
        page = (self.panel_url, self.auth_domain, self.client_id)
        if any(page) and not all(page):
            raise ValueError(
                "CARELINE_AGENT_PANEL_URL, CARELINE_AGENT_AUTH_DOMAIN and CARELINE_AGENT_CLIENT_ID "
                "go together (the panel page's sign-in)"
            )
        return self

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AgentSettings:
        """Read and validate the environment; `ConfigError` names each missing or bad variable."""
        return _read_environment(cls, environ)


@dataclass(frozen=True)
class AgentRuntime:
    """What the agent API needs: the panel's use cases and, in AWS, the page's sign-in settings."""

    config: PracticeConfig
    clock: Clock
    panel: AgentPanel
    page: PanelSettings | None


def build_agent_runtime(
    settings: AgentSettings,
    overrides: Overrides | None = None,
    escalation: EscalationOverrides | None = None,
) -> AgentRuntime:
    """The agent panel wired from `settings`; `overrides` as for the turn runtime (clock, messenger,
    config, context store, cipher), and the escalation store of `escalation`, if it has one."""
    from urllib.parse import urlsplit

    from careline.agents import AgentPanel
    from careline.agents.page import PanelSettings
    from careline.agents.stepfunctions import StepFunctionsAcceptance
    from careline.store.audit import DynamoAuditLog

    given = overrides or Overrides()
    session = _session_for(settings.region)
    config = given.config if given.config is not None else load_practice_config(settings.config_path)
    clock: Clock = given.clock if given.clock is not None else SystemClock()
    cipher = _kms_cipher(settings, given)
    table = settings.table_name
    contexts = (
        given.store if given.store is not None else _context_store(settings, table, cipher, config, clock)
    )
    messenger = given.messenger if given.messenger is not None else _messenger(settings, clock, session)
    panel = AgentPanel(
        escalations=(
            escalation.escalations
            if escalation is not None and escalation.escalations is not None
            else _escalation_store(settings, table, cipher, config, clock)
        ),
        contexts=contexts,
        messenger=messenger,
        audit=DynamoAuditLog(
            table, config.deployment.retention_days, region=settings.region, host=settings.endpoint_url
        ),
        workflow=StepFunctionsAcceptance(session.client("stepfunctions", endpoint_url=settings.endpoint_url)),
        clock=clock,
        catalog=config.catalog,
    )
    page = None
    if settings.panel_url and settings.auth_domain and settings.client_id:
        page = PanelSettings(
            mode="cognito",
            api_base=urlsplit(settings.panel_url).path.rstrip("/"),
            timezone=config.practice.timezone,
            auth_domain=settings.auth_domain,
            client_id=settings.client_id,
            redirect_uri=settings.panel_url,
        )
    return AgentRuntime(config=config, clock=clock, panel=panel, page=page)


_agent_runtime: tuple[object, EscalationOverrides, AgentRuntime] | None = None


def get_agent_runtime() -> AgentRuntime:
    """The agent API's runtime, built on first use from the environment and the installed overrides
    (both kinds); rebuilt whenever either is installed again."""
    global _agent_runtime
    with _lock:
        overrides, escalation = _overrides, _escalation_overrides
        cached = _agent_runtime
        if cached is None or cached[0] is not overrides or cached[1] is not escalation:
            runtime = build_agent_runtime(AgentSettings.from_env(), overrides, escalation)
            cached = (overrides, escalation, runtime)
            _agent_runtime = cached
        return cached[2]


# -- the scheduled side: scoring, the reminder campaign, the waitlist (functions/risk_scoring,
# reminder_plan, reminder_send, waitlist_offers) -------------------------------------------------

if TYPE_CHECKING:
    from careline.reminders.campaign import ReminderCampaign
    from careline.reminders.model import WatchedVisit
    from careline.reminders.ports import ReminderStore, ReplyScopes
    from careline.reminders.scoring import RiskScoring
    from careline.waitlist.backfill import WaitlistBackfill

# the no-show model shipped in the code layer (careline/risk/model.json, docs/decisions/0016)
RISK_MODEL_PATH = Path(__file__).parent / "risk" / "model.json"


class ReminderSettings(_PartsSettings):
    """The environment of the scheduled functions: each is given only what its part uses."""

    hash_secret_arn: str | None = Field(default=None, alias="CARELINE_HASH_SECRET_ARN")
    event_bus_name: str | None = Field(default=None, alias="CARELINE_EVENT_BUS_NAME")
    email_from: str | None = Field(default=None, alias="CARELINE_EMAIL_FROM")
    ehr_secret_arn: str | None = Field(default=None, alias="CARELINE_EHR_SECRET_ARN")
    fhir_base_url: str | None = Field(default=None, alias="CARELINE_FHIR_BASE_URL", pattern=r"^https?://\S+$")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ReminderSettings:
        """Read and validate the environment; `ConfigError` names each missing or bad variable."""
        return _read_environment(cls, environ)


class ReminderRuntime(_PartsRuntime):
    """What the scheduled functions use, each part built on first use."""

    def __init__(self, settings: ReminderSettings, overrides: Overrides) -> None:
        super().__init__(settings, overrides)
        self.settings = settings

    def _keys(self) -> HmacSubjectKeys:
        from careline.store.verification import HmacSubjectKeys

        def build() -> HmacSubjectKeys:

            keys = self._overrides.keys
            if isinstance(keys, HmacSubjectKeys):
                return keys
            secret = self.settings.require("hash_secret_arn")
            secrets = self._session.client("secretsmanager", endpoint_url=self.settings.endpoint_url)

            def fetch(arn: str) -> str:
                value: str = secrets.get_secret_value(SecretId=arn)["SecretString"]
                return value

            return HmacSubjectKeys(secret, fetch_secret=fetch)

        keys: HmacSubjectKeys = self._part("keys", build)
        return keys

    def _patient_key(self, patient_id: str) -> str:
        # the keys are read when a patient is first keyed (the scoring never is), not when built
        return _patient_keyer(self._keys())(patient_id)

    @property
    def reminders(self) -> ReminderStore:
        def build() -> ReminderStore:
            table = self.settings.require("table_name")
            return _reminder_store(self.settings, table, self._cipher(), self.config, self._patient_key)

        store: ReminderStore = self._part("reminders", build)
        return store

    @property
    def waitlist(self) -> WaitlistStore:
        def build() -> WaitlistStore:
            table = self.settings.require("table_name")
            return _waitlist_store(self.settings, table, self._cipher(), self._patient_key)

        store: WaitlistStore = self._part("waitlist", build)
        return store

    @property
    def scopes(self) -> ReplyScopes:
        from careline.reminders.conversation import ConversationScopes

        scopes: ReplyScopes = self._part("scopes", lambda: ConversationScopes(self.contexts, self._keys()))
        return scopes

    @property
    def email(self) -> EmailSender | None:
        """The email sender, or None when the practice sends no email (those patients get texts)."""

        def build() -> EmailSender | None:
            if self._overrides.email is not None:
                return self._overrides.email
            if not self.settings.email_from:
                return None
            from careline.messaging.email import EMAIL_CLIENT_CONFIG, SesEmailSender

            client = self._session.client(
                "sesv2", endpoint_url=self.settings.endpoint_url, config=EMAIL_CLIENT_CONFIG
            )
            return SesEmailSender(client, self.settings.email_from)

        email: EmailSender | None = self._part("email", build)
        return email

    @property
    def ehr(self) -> Ehr:
        def build() -> Ehr:
            if self._overrides.ehr is not None:
                return self._overrides.ehr
            from careline.ehr.resilience import TurnBudget

            ehr = _ehr(self.settings, self.clock, self._session, TurnBudget(time.monotonic))
            if ehr is None:
                raise ConfigError(
                    "invalid Careline environment:\n  CARELINE_EHR_SECRET_ARN is not set (scoring and "
                    "the waitlist read the EHR)"
                )
            return ehr

        ehr: Ehr = self._part("ehr", build)
        return ehr

    @property
    def schedule(self) -> ScheduleSource:
        def build() -> ScheduleSource:
            if self._overrides.schedule is not None:
                return self._overrides.schedule
            from careline.ehr.fhir import FhirEhr
            from careline.ehr.fhir_schedule import FhirScheduleSource

            ehr = self.ehr
            if not isinstance(ehr, FhirEhr):
                raise ConfigError("the no-show scoring reads a FHIR EHR; give Overrides.schedule otherwise")
            return FhirScheduleSource(ehr)

        schedule: ScheduleSource = self._part("schedule", build)
        return schedule

    @property
    def model(self) -> RiskModel:
        def build() -> RiskModel:
            if self._overrides.risk_model is not None:
                return self._overrides.risk_model
            from careline.risk.model import load

            return load(RISK_MODEL_PATH)

        model: RiskModel = self._part("model", build)
        return model

    @property
    def scoring(self) -> RiskScoring:
        from careline.reminders.scoring import RiskScoring

        return RiskScoring(
            config=self.config,
            source=self.schedule,
            model=self.model,
            store=self.reminders,
            clock=self.clock,
            waitlist=self.waitlist,
            email_enabled=self.email is not None,
        )

    @property
    def bus(self) -> EventBus:
        def build() -> EventBus:
            if self._overrides.event_bus is not None:
                return self._overrides.event_bus
            from careline.events.bus import EventBridgeBus

            client = self._session.client("events", endpoint_url=self.settings.endpoint_url)
            return EventBridgeBus(client, self.settings.require("event_bus_name"))

        bus: EventBus = self._part("bus", build)
        return bus

    @property
    def campaign(self) -> ReminderCampaign:
        """The campaign. Its senders are built when a send first needs them, so the planner (which
        sends nothing) runs without the sending functions' environment or grants."""
        from careline.reminders.campaign import ReminderCampaign

        return ReminderCampaign(
            config=self.config,
            store=self.reminders,
            scopes=self.scopes,
            messenger=_OnFirstSend(lambda: self.messenger),
            calls=_OnFirstCall(self),
            clock=self.clock,
            email=self.email,
        )

    @property
    def backfill(self) -> WaitlistBackfill:
        from careline.waitlist.backfill import WaitlistBackfill

        return WaitlistBackfill(
            config=self.config,
            waitlist=self.waitlist,
            ehr=self.ehr,
            ledger=self.reminders,
            scopes=self.scopes,
            messenger=self.messenger,
            clock=self.clock,
        )


_reminder_runtime: tuple[object, ReminderRuntime] | None = None


def get_reminder_runtime() -> ReminderRuntime:
    """The scheduled functions' runtime, built on first use from the environment and the installed
    overrides; rebuilt whenever overrides are installed again."""
    global _reminder_runtime
    with _lock:
        overrides = _overrides
        cached = _reminder_runtime
        if cached is None or cached[0] is not overrides:
            cached = (overrides, ReminderRuntime(ReminderSettings.from_env(), overrides or Overrides()))
            _reminder_runtime = cached
        return cached[1]


class _OnFirstSend:
    """A `Messenger` built on its first send."""

    def __init__(self, build: Callable[[], Messenger]) -> None:
        self._build = build

    def send_sms(self, to_number: str, body: str) -> str:
        return self._build().send_sms(to_number, body)


class _OnFirstCall:
    """The call tasks (they publish on the bus), built on the first call step."""

    def __init__(self, runtime: ReminderRuntime) -> None:
        self._runtime = runtime

    def create_call_task(self, visit: WatchedVisit, reason: str, at: datetime) -> str:
        from careline.reminders.conversation import EscalationCallTasks

        runtime = self._runtime
        tasks = EscalationCallTasks(runtime.contexts, runtime._keys(), runtime.bus)
        return tasks.create_call_task(visit, reason, at)
