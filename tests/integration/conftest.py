"""moto-backed fixtures for the adapters and the sms_inbound handler (in-process `mock_aws`)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from careline.store import create_table
from handler_env import set_environment
from moto import mock_aws

REGION = "us-west-2"

ROOT = Path(__file__).resolve().parents[2]
TABLE = "careline-test"


class FrozenClock:
    """A settable UTC clock, so TTLs and timeline keys are predictable."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **kwargs: float) -> None:
        self.at += timedelta(**kwargs)


@dataclass(frozen=True)
class AwsStack:
    table_name: str
    kms_key_arn: str
    hash_secret_arn: str
    queue_url: str
    event_bus_name: str


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 2, 17, 4, 5, tzinfo=UTC))


@pytest.fixture
def aws(aws_credentials: None) -> Iterator[AwsStack]:
    """The stack's resources in moto: KMS key, table, HMAC secret, quarantine queue, event bus."""
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        key_arn = session.client("kms").create_key(Description="careline test")["KeyMetadata"]["Arn"]
        create_table(session.client("dynamodb"), TABLE, kms_key_arn=key_arn)
        secret = session.client("secretsmanager").create_secret(
            Name="careline-test/party-hash", SecretString=secrets.token_hex(32)
        )
        queue_url = session.client("sqs").create_queue(QueueName="careline-test-quarantine")["QueueUrl"]
        session.client("events").create_event_bus(Name="careline-test")
        yield AwsStack(TABLE, key_arn, secret["ARN"], queue_url, "careline-test")


@dataclass
class HandlerHarness:
    """The sms_inbound handler wired to moto, with an outbox instead of End User Messaging."""

    aws: AwsStack
    outbox: Any
    handler: Any
    clock: FrozenClock

    def invoke(self, event: Any) -> dict[str, Any]:
        from careline.composition import LocalLambdaContext

        result: dict[str, Any] = self.handler.handler(event, LocalLambdaContext())
        return result

    def replies(self) -> list[str]:
        return [m.body for m in self.outbox.list()]

    def quarantined(self) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs")
        found: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(
                QueueUrl=self.aws.queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not batch:
                return found
            found.extend(batch)
            for message in batch:
                sqs.delete_message(QueueUrl=self.aws.queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def harness(aws: AwsStack, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[HandlerHarness]:
    from careline.composition import Overrides, install_overrides, reset_runtime
    from careline.messaging import OutboxMessenger
    from sms_inbound_events import load_handler

    set_environment(monkeypatch, aws)
    outbox = OutboxMessenger(clock)
    install_overrides(Overrides(clock=clock, messenger=outbox))
    try:
        yield HandlerHarness(aws=aws, outbox=outbox, handler=load_handler(), clock=clock)
    finally:
        reset_runtime()


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    """The FHIR dev server for one test module; CI must have installed it, a developer gets it now."""
    from careline_local.fhir import install_dependencies, is_installed

    if not is_installed():
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(
                "local/fhir-dev-server/node_modules is missing: run `npm ci --prefix local/fhir-dev-server`"
            )
        install_dependencies()
    from careline_local.fhir import FhirDevServer

    with FhirDevServer() as running:
        yield running
