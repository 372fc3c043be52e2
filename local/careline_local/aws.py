"""The AWS side of a local stack: the resources the CDK stack would create, made in moto.

Works against whichever moto is active: the threaded server (`careline local`, boto3 reaching it
through `AWS_ENDPOINT_URL`) or the in-process `mock_aws` (the scenario runner).
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from careline.store.table import create_table

# Names mirror the stack's; moto keeps one account, so fixed names are fine locally.
TABLE_NAME = "careline-local"
HASH_SECRET_NAME = "careline-local/party-hash-key"  # noqa: S105 - a name, not a secret
QUARANTINE_QUEUE_NAME = "careline-local-sms-inbound-quarantine"
EVENT_BUS_NAME = "careline-local"

# moto accepts any credentials; fixed fake ones keep boto3 from looking for real ones.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
}


@dataclass(frozen=True)
class LocalResources:
    """What the handler's environment names: the stack's resources, as moto made them."""

    region: str
    table_name: str
    kms_key_arn: str
    hash_secret_arn: str
    event_bus_name: str
    quarantine_queue_url: str


def aws_environment(region: str, endpoint_url: str | None = None) -> dict[str, str]:
    """boto3's environment for moto: fake credentials, the region, the endpoint when moto is a server."""
    env = {
        **FAKE_CREDENTIALS,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        # moto's DynamoDB streams and account-id based endpoints need this off.
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }
    if endpoint_url:
        env["AWS_ENDPOINT_URL"] = endpoint_url
    return env


@functools.cache
def session(region: str) -> boto3.session.Session:
    """One boto3 session per region for the whole process: a new session re-reads every service
    model from disk, which would dominate a run of many short scenarios."""
    return boto3.session.Session(region_name=region)


def provision(region: str) -> LocalResources:
    """Create the KMS key, table, hash secret, quarantine queue and event bus; return their ids."""
    aws = session(region)
    kms = aws.client("kms")
    key = kms.create_key(Description="Careline local field encryption", KeyUsage="ENCRYPT_DECRYPT")
    key_arn = key["KeyMetadata"]["Arn"]

    create_table(aws.client("dynamodb"), TABLE_NAME, kms_key_arn=key_arn)

    # A fresh HMAC key per stack: party ids from one run mean nothing in the next, as in AWS.
    secret = aws.client("secretsmanager").create_secret(
        Name=HASH_SECRET_NAME, SecretString=secrets.token_hex(32)
    )
    queue = aws.client("sqs").create_queue(QueueName=QUARANTINE_QUEUE_NAME)
    aws.client("events").create_event_bus(Name=EVENT_BUS_NAME)
    return LocalResources(
        region=region,
        table_name=TABLE_NAME,
        kms_key_arn=key_arn,
        hash_secret_arn=secret["ARN"],
        event_bus_name=EVENT_BUS_NAME,
        quarantine_queue_url=queue["QueueUrl"],
    )


def careline_environment(
    resources: LocalResources,
    *,
    config_path: str,
    origination_identity: str,
    fhir_base_url: str | None = None,
) -> dict[str, str]:
    """The CARELINE_* variables of docs/architecture.md for the local runtime."""
    ehr = {"CARELINE_FHIR_BASE_URL": fhir_base_url} if fhir_base_url else {}
    return {
        **ehr,
        "CARELINE_CONFIG_PATH": config_path,
        "CARELINE_TABLE_NAME": resources.table_name,
        "CARELINE_KMS_KEY_ARN": resources.kms_key_arn,
        "CARELINE_HASH_SECRET_ARN": resources.hash_secret_arn,
        "CARELINE_EVENT_BUS_NAME": resources.event_bus_name,
        "CARELINE_QUARANTINE_QUEUE_URL": resources.quarantine_queue_url,
        "CARELINE_ORIGINATION_IDENTITY": origination_identity,
        "CARELINE_MESSENGER": "outbox",
        "POWERTOOLS_SERVICE_NAME": "careline",
        "POWERTOOLS_METRICS_NAMESPACE": "Careline",
        # EMF metrics on stdout and X-Ray traces have no reader locally.
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


def apply_environment(values: Mapping[str, str]) -> dict[str, str | None]:
    """Set `values` in os.environ; returns what was there before, for `restore_environment`."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    return previous


def restore_environment(previous: Mapping[str, str | None]) -> None:
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def scan_items(region: str, table_name: str, **scan_args: Any) -> list[dict[str, Any]]:
    """Every item of the table matching `scan_args` (paginated), as low-level attribute maps."""
    client = session(region).client("dynamodb")
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=table_name, **scan_args):
        items.extend(page.get("Items", []))
    return items


@contextlib.contextmanager
def in_process_aws(
    region: str, *, config_path: str, origination_identity: str, fhir_base_url: str | None = None
) -> Iterator[LocalResources]:
    """moto in-process (`mock_aws`) with the stack's resources and the CARELINE_* environment set.

    The environment is restored on exit. A leftover `AWS_ENDPOINT_URL` (say, from a shell running
    `careline local`) would send calls past `mock_aws`, so it is lifted for the duration.
    """
    from moto import mock_aws

    saved = apply_environment(aws_environment(region))
    saved_endpoint = os.environ.pop("AWS_ENDPOINT_URL", None)
    try:
        with mock_aws():
            resources = provision(region)
            saved.update(
                apply_environment(
                    careline_environment(
                        resources,
                        config_path=config_path,
                        origination_identity=origination_identity,
                        fhir_base_url=fhir_base_url,
                    )
                )
            )
            yield resources
    finally:
        restore_environment(saved)
        if saved_endpoint is not None:
            os.environ["AWS_ENDPOINT_URL"] = saved_endpoint
