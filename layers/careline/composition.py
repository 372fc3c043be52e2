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
from typing import TYPE_CHECKING, Any, Literal
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
    from careline.store.cipher import FieldCipher

IDEMPOTENCY_FUNCTION = "sms_inbound"
# SNS plus Lambda async retries can redeliver for hours; a day covers every redelivery path.
IDEMPOTENCY_EXPIRY_SECONDS = 24 * 60 * 60


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
        env = dict(os.environ if environ is None else environ)
        if not env.get("AWS_REGION") and env.get("AWS_DEFAULT_REGION"):
            env["AWS_REGION"] = env["AWS_DEFAULT_REGION"]
        # An empty variable is as good as a missing one.
        values = {k: v for k, v in env.items() if v != ""}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = []
            for err in exc.errors(include_input=False, include_url=False):
                name = ".".join(str(p) for p in err["loc"]) or "environment"
                message = "is not set" if err["type"] == "missing" else err["msg"]
                problems.append(f"{name} {message}" if err["loc"] else message)
            raise ConfigError("invalid Careline environment:\n  " + "\n  ".join(problems)) from None


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


def _session(settings: Settings) -> boto3.session.Session:
    import boto3

    return boto3.session.Session(region_name=settings.region)


def build_turn_service(settings: Settings, overrides: Overrides | None = None) -> TurnService:
    """The `TurnService` wired from `settings`, with anything in `overrides` used instead."""
    return _build_parts(settings, overrides or Overrides(), _session(settings))[0]


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
    store = (
        overrides.store
        if overrides.store is not None
        else _context_store(settings, config, clock, overrides.cipher)
    )
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
    engine = ConversationEngine(
        config,
        clock,
        ehr=ehr,
        verifier=verifier,
        flows_elsewhere=patient_flows.context_holding if patient_flows is not None else None,
    )
    service = TurnService(engine, store, keys, messenger, event_bus, clock, patient_flows)
    return service, config, clock, messenger, event_bus, budget


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


def _ehr(settings: Settings, clock: Clock, session: boto3.session.Session, budget: TurnBudget) -> Ehr | None:
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


def _context_store(
    settings: Settings, config: PracticeConfig, clock: Clock, cipher: FieldCipher | None
) -> ContextStore:
    from careline.store.cipher import KmsFieldCipher
    from careline.store.context_store import DynamoContextStore

    return DynamoContextStore(
        settings.table_name,
        cipher if cipher is not None else KmsFieldCipher(settings.kms_key_arn),
        config.deployment.retention_days,
        clock,
        region=settings.region,
        host=settings.endpoint_url,
    )


def _messenger(settings: Settings, clock: Clock, session: boto3.session.Session) -> Messenger:
    if settings.messenger == "outbox":
        from careline.messaging.outbox import OutboxMessenger

        return OutboxMessenger(clock)
    from careline.messaging.sms import SMS_CLIENT_CONFIG, SmsMessenger

    assert settings.origination_identity  # guaranteed by Settings validation
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

    session = _session(settings)
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
