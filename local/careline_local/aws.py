"""The AWS side of a local stack: the resources the CDK stack would create, made in moto.

Works against whichever moto is active: the threaded server (`careline local`, boto3 reaching it
through `AWS_ENDPOINT_URL`) or the in-process `mock_aws` (the scenario runner).

The escalation workflow runs the very ASL file the stack deploys (`statemachines/escalation.asl.json`,
with the same definition substitutions) in moto's Step Functions interpreter
(`MOTO_CONFIG`: `execute_state_machine`). Its Lambda tasks are moto Lambda functions whose
invocations `LambdaRoutes` hands to the real handlers in this process (moto's Docker-free Lambda
backend, with its `invoke` replaced). The start rule is a real EventBridge rule with the stack's
event pattern; moto cannot invoke a Lambda target, so its target is an SQS queue the local stack
drains into `functions/escalation_start`, event for event. The two page topics each feed a queue,
so a page can be read back.

The reminder campaign runs `statemachines/reminders.asl.json` the same way (substitutions
`${PlanFunctionArn}` and `${SendQueueUrl}`, the Map's concurrency set from the config as the stack
sets it): its `Plan` task is the moto function `careline-local-reminder-plan`, routed to
`functions/reminder_plan` in this process, and its `Enqueue` Map puts each due send on the send
queue (`arn:aws:states:::sqs:sendMessage`, with the send's place in line as the message's delay,
real seconds in moto). Lambda's SQS poller has no moto counterpart: the `reminders` job drains the
queue into `functions/reminder_send` (see `careline_local.campaign`). A send that fails five
receives moves to the send dead-letter queue, as the stack's redrive policy says.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import re
import secrets
import threading
import traceback
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from careline.escalation.workflow import (
    ON_CALL_TOPIC,
    START_EVENT_PATTERN,
    START_FUNCTION,
    SUPERVISOR_TOPIC,
    TASK_FUNCTIONS,
)
from careline.store.table import create_table

from careline_local.paths import REPO_ROOT

# Names mirror the stack's; moto keeps one account, so fixed names are fine locally.
TABLE_NAME = "careline-local"
HASH_SECRET_NAME = "careline-local/party-hash-key"  # noqa: S105 - a name, not a secret
QUARANTINE_QUEUE_NAME = "careline-local-sms-inbound-quarantine"
EVENT_BUS_NAME = "careline-local"
ESCALATION_STATE_MACHINE_NAME = "careline-local-escalation"
ESCALATION_START_RULE_NAME = "careline-local-escalation-requested"
ESCALATION_START_QUEUE_NAME = "careline-local-escalation-start"
ON_CALL_TOPIC_NAME = "careline-local-on-call"
SUPERVISOR_TOPIC_NAME = "careline-local-supervisor"
PAGES_QUEUE_NAME = "careline-local-pages"
ESCALATION_ASL = REPO_ROOT / "statemachines" / "escalation.asl.json"
REMINDERS_STATE_MACHINE_NAME = "careline-local-reminders"
REMINDER_SEND_QUEUE_NAME = "careline-local-reminder-send"
REMINDER_SEND_DLQ_NAME = "careline-local-reminder-send-dlq"
REMINDERS_ASL = REPO_ROOT / "statemachines" / "reminders.asl.json"
# the campaign's first state, and the functions the local jobs run in-process
REMINDER_PLAN_FUNCTION = "reminder_plan"
RISK_SCORING_FUNCTION = "risk_scoring"
REMINDER_SEND_FUNCTION = "reminder_send"
# the ASL's placeholders (infra/reminders.py fills the same ones) and its Map state
PLAN_FUNCTION_PLACEHOLDER = "PlanFunctionArn"
SCORING_FUNCTION_PLACEHOLDER = "ScoringFunctionArn"
SEND_QUEUE_PLACEHOLDER = "SendQueueUrl"
ENQUEUE_STATE = "Enqueue"
# as the stack: a send that fails this many receives waits on the dead-letter queue
REMINDER_SEND_MAX_RECEIVES = 5
# moto executes state machines (its ASL interpreter) and runs Lambda without Docker.
MOTO_CONFIG: dict[str, Any] = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}

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
    escalation: EscalationResources | None = None
    reminders: ReminderResources | None = None


@dataclass(frozen=True)
class EscalationResources:
    """The escalation workflow's resources in moto."""

    state_machine_arn: str
    # function folder name (functions/<name>) -> moto function name
    functions: Mapping[str, str]
    on_call_topic_arn: str
    supervisor_topic_arn: str
    start_queue_url: str
    pages_queue_url: str


@dataclass(frozen=True)
class ReminderResources:
    """The reminder campaign's resources in moto."""

    state_machine_arn: str
    plan_function: str  # the moto function name of `functions/reminder_plan`
    scoring_function: str  # ... of `functions/risk_scoring` (the campaign runs it on stale scores)
    send_queue_url: str
    send_queue_arn: str
    send_dlq_url: str


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


def share_service_models() -> None:
    """Let every botocore session this process makes share one loader of AWS service models.

    Each handler's runtime, pynamodb model class and Encryption SDK key provider makes a botocore
    session of its own, and each new session reads the service models from disk again: in Lambda
    once per container, but locally once per stack, which made most of a scenario's time. The
    models are read-only data, so sharing the loader changes nothing but the speed.
    """
    import botocore.loaders
    import botocore.session

    if not isinstance(botocore.session.create_loader, functools._lru_cache_wrapper):
        botocore.session.create_loader = functools.cache(botocore.loaders.create_loader)


@functools.cache
def session(region: str) -> boto3.session.Session:
    """One boto3 session per region for the whole process: a new session re-reads every service
    model from disk, which would dominate a run of many short scenarios."""
    return boto3.session.Session(region_name=region)


def provision(region: str, *, reminder_concurrency: int | None = None) -> LocalResources:
    """Create the KMS key, table, hash secret, quarantine queue, event bus, the escalation workflow
    and the reminder campaign; return their ids. `reminder_concurrency` is the campaign Map's
    `MaxConcurrency` (`reminders.max_concurrency`; the ASL file's own value when None)."""
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
        escalation=provision_escalation_workflow(region),
        reminders=provision_reminder_campaign(region, max_concurrency=reminder_concurrency),
    )


def substitute(definition: str, substitutions: Mapping[str, str]) -> str:
    """`${Name}` -> value, as CloudFormation's DefinitionSubstitutions does; every placeholder must
    be given (a leftover one would reach moto as a broken ARN)."""
    text = definition
    for name, value in substitutions.items():
        text = text.replace("${" + name + "}", value)
    leftover = sorted(set(re.findall(r"\$\{(\w+)\}", text)))
    if leftover:
        raise ValueError(f"no substitution for {', '.join(leftover)}")
    return text


def _placeholder_zip() -> bytes:
    # moto's Lambda needs a package; the code that runs is the real handler, routed in-process.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    raise RuntimeError('routed')\n")
    return buffer.getvalue()


def _queue_arn(sqs: Any, url: str) -> str:
    arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return arn


def local_function_name(folder: str) -> str:
    """The moto function name of `functions/<folder>`."""
    return f"careline-local-{folder.replace('_', '-')}"


def provision_escalation_workflow(region: str, asl_path: Path = ESCALATION_ASL) -> EscalationResources:
    """The state machine from the repository's ASL file, its Lambda functions, topics and start rule."""
    aws = session(region)
    role_arn = _workflow_role(aws, "careline-local-escalation")
    lambda_client = aws.client("lambda")
    package = _placeholder_zip()
    functions: dict[str, str] = {}
    arns: dict[str, str] = {}
    for folder in (*TASK_FUNCTIONS.values(), START_FUNCTION):
        name = local_function_name(folder)
        created = lambda_client.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role_arn,
            Handler="handler.handler",
            Code={"ZipFile": package},
        )
        functions[folder] = name
        arns[folder] = created["FunctionArn"]
    sns = aws.client("sns")
    sqs = aws.client("sqs")
    on_call = sns.create_topic(Name=ON_CALL_TOPIC_NAME)["TopicArn"]
    supervisor = sns.create_topic(Name=SUPERVISOR_TOPIC_NAME)["TopicArn"]
    pages_url = sqs.create_queue(QueueName=PAGES_QUEUE_NAME)["QueueUrl"]
    pages_arn = _queue_arn(sqs, pages_url)
    for topic in (on_call, supervisor):
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=pages_arn)
    start_url = sqs.create_queue(QueueName=ESCALATION_START_QUEUE_NAME)["QueueUrl"]
    start_arn = _queue_arn(sqs, start_url)
    events = aws.client("events")
    events.put_rule(
        Name=ESCALATION_START_RULE_NAME,
        EventBusName=EVENT_BUS_NAME,
        EventPattern=json.dumps(START_EVENT_PATTERN),
    )
    events.put_targets(
        Rule=ESCALATION_START_RULE_NAME,
        EventBusName=EVENT_BUS_NAME,
        Targets=[{"Id": "start", "Arn": start_arn}],
    )
    substitutions = {placeholder: arns[folder] for placeholder, folder in TASK_FUNCTIONS.items()}
    substitutions.update({ON_CALL_TOPIC: on_call, SUPERVISOR_TOPIC: supervisor})
    definition = substitute(asl_path.read_text(encoding="utf-8"), substitutions)
    machine = aws.client("stepfunctions").create_state_machine(
        name=ESCALATION_STATE_MACHINE_NAME, definition=definition, roleArn=role_arn, type="STANDARD"
    )
    return EscalationResources(
        state_machine_arn=machine["stateMachineArn"],
        functions=functions,
        on_call_topic_arn=on_call,
        supervisor_topic_arn=supervisor,
        start_queue_url=start_url,
        pages_queue_url=pages_url,
    )


def _workflow_role(aws: boto3.session.Session, name: str) -> str:
    arn: str = aws.client("iam").create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
    )["Role"]["Arn"]
    return arn


def campaign_definition(asl: str, max_concurrency: int | None) -> str:
    """The campaign's ASL with the `Enqueue` Map's concurrency set (a number cannot be a definition
    substitution, so the stack sets it the same way); `${...}` placeholders stay for `substitute`."""
    if max_concurrency is None:
        return asl
    definition: dict[str, Any] = json.loads(asl)
    definition["States"][ENQUEUE_STATE]["MaxConcurrency"] = max_concurrency
    return json.dumps(definition)


def provision_reminder_campaign(
    region: str, asl_path: Path = REMINDERS_ASL, *, max_concurrency: int | None = None
) -> ReminderResources | None:
    """The campaign state machine from the repository's ASL file, its plan function and the send
    queue with its dead-letter queue. None in a checkout without the ASL file."""
    if not asl_path.is_file():
        return None
    aws = session(region)
    role_arn = _workflow_role(aws, "careline-local-reminders")
    arns = {}
    for folder in (REMINDER_PLAN_FUNCTION, RISK_SCORING_FUNCTION):
        arns[folder] = aws.client("lambda").create_function(
            FunctionName=local_function_name(folder),
            Runtime="python3.12",
            Role=role_arn,
            Handler="handler.handler",
            Code={"ZipFile": _placeholder_zip()},
        )["FunctionArn"]
    sqs = aws.client("sqs")
    dlq_url = sqs.create_queue(QueueName=REMINDER_SEND_DLQ_NAME)["QueueUrl"]
    redrive = {"deadLetterTargetArn": _queue_arn(sqs, dlq_url), "maxReceiveCount": REMINDER_SEND_MAX_RECEIVES}
    send_url = sqs.create_queue(
        QueueName=REMINDER_SEND_QUEUE_NAME, Attributes={"RedrivePolicy": json.dumps(redrive)}
    )["QueueUrl"]
    definition = substitute(
        campaign_definition(asl_path.read_text(encoding="utf-8"), max_concurrency),
        {
            PLAN_FUNCTION_PLACEHOLDER: arns[REMINDER_PLAN_FUNCTION],
            SCORING_FUNCTION_PLACEHOLDER: arns[RISK_SCORING_FUNCTION],
            SEND_QUEUE_PLACEHOLDER: send_url,
        },
    )
    machine = aws.client("stepfunctions").create_state_machine(
        name=REMINDERS_STATE_MACHINE_NAME, definition=definition, roleArn=role_arn, type="STANDARD"
    )
    return ReminderResources(
        state_machine_arn=machine["stateMachineArn"],
        plan_function=local_function_name(REMINDER_PLAN_FUNCTION),
        scoring_function=local_function_name(RISK_SCORING_FUNCTION),
        send_queue_url=send_url,
        send_queue_arn=_queue_arn(sqs, send_url),
        send_dlq_url=dlq_url,
    )


# --- Lambda invocations, in-process ----------------------------------------------------------------

LambdaHandler = Callable[[dict[str, Any], Any], Any]


@dataclass(frozen=True)
class Invocation:
    """One Lambda invocation moto handed to a local handler: what came in, what went out."""

    function: str
    event: dict[str, Any]
    result: Any = None
    error: str | None = None


@dataclass
class LambdaRoutes:
    """moto Lambda function name -> the real handler, run in this process when moto invokes it
    (Step Functions' `lambda:invoke` tasks). A handler that raises answers as Lambda does: a
    `FunctionError` with `errorType` = the exception's class name, which is the error name the
    state machine's Retry and Catch see.

    Every finished invocation is kept (`invocations`, and the last one per escalation id) and
    wakes whoever waits in `wait_for_change`, so the local stack can tell when a workflow has come
    to rest without polling moto. `failures` makes the next N invocations of a function fail (a
    test's outage)."""

    handlers: dict[str, LambdaHandler] = field(default_factory=dict)
    context_for: Callable[[str], Any] | None = None
    invocations: list[Invocation] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _in_flight: int = 0
    _last: dict[str, Invocation] = field(default_factory=dict)

    def invoke(self, function_name: str, body: Any, response_headers: dict[str, Any]) -> bytes:
        name = function_name.rsplit(":", 1)[-1] if function_name.startswith("arn:") else function_name
        event = json.loads(body) if body else {}
        handler = self.handlers.get(name)
        with self._changed:
            self._in_flight += 1
            failing = self.failures.get(name, 0)
            if failing:
                self.failures[name] = failing - 1
        try:
            if handler is None:
                raise LookupError(f"no local handler routed for {name}")
            if failing:
                raise ConnectionError(f"{name} failed on purpose (a test's outage)")
            context = self.context_for(name) if self.context_for is not None else None
            result = handler(event, context)
        except Exception as exc:  # noqa: BLE001 - reported the way Lambda reports it
            self._finished(Invocation(name, event, error=type(exc).__name__))
            response_headers["x-amz-function-error"] = "Unhandled"
            payload = {
                "errorType": type(exc).__name__,
                "errorMessage": str(exc),
                "stackTrace": traceback.format_tb(exc.__traceback__)[-3:],
            }
            return json.dumps(payload).encode("utf-8")
        self._finished(Invocation(name, event, result=result))
        return json.dumps(result, default=str).encode("utf-8")

    def _finished(self, invocation: Invocation) -> None:
        with self._changed:
            self._in_flight -= 1
            self.invocations.append(invocation)
            escalation_id = invocation.event.get("escalation_id")
            if isinstance(escalation_id, str):
                self._last[escalation_id] = invocation
            self._changed.notify_all()

    @property
    def busy(self) -> bool:
        """Some handler is running right now."""
        with self._changed:
            return self._in_flight > 0

    def last_for(self, escalation_id: str) -> Invocation | None:
        """The last finished invocation of any step for `escalation_id`."""
        with self._changed:
            return self._last.get(escalation_id)

    def wait_for_change(self, timeout: float) -> None:
        """Block until an invocation finishes, or `timeout` seconds pass."""
        with self._changed:
            self._changed.wait(timeout)


_routes: LambdaRoutes | None = None
_routes_lock = threading.Lock()


def _routed_invoke(
    self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
) -> bytes:
    routes = _routes
    if routes is None:
        raise RuntimeError("Lambda invoked with no local routes installed")
    payload = routes.invoke(function_name, body, response_headers)
    response_headers["Content-Length"] = str(len(payload))
    return payload


def install_lambda_routes(routes: LambdaRoutes) -> None:
    """Send moto's (Docker-free) Lambda invocations to `routes` from now on, in this process."""
    from moto.awslambda_simple.models import LambdaSimpleBackend

    global _routes
    with _routes_lock:
        _routes = routes
        LambdaSimpleBackend.invoke = _routed_invoke  # type: ignore[method-assign]


def uninstall_lambda_routes(routes: LambdaRoutes) -> None:
    """Stop routing to `routes` (if they are still the installed ones)."""
    global _routes
    with _routes_lock:
        if _routes is routes:
            _routes = None


def careline_environment(
    resources: LocalResources,
    *,
    config_path: str,
    origination_identity: str,
    fhir_base_url: str | None = None,
) -> dict[str, str]:
    """The CARELINE_* variables of docs/architecture.md for the local runtime."""
    ehr = {"CARELINE_FHIR_BASE_URL": fhir_base_url} if fhir_base_url else {}
    escalation = (
        {"CARELINE_ESCALATION_STATE_MACHINE_ARN": resources.escalation.state_machine_arn}
        if resources.escalation is not None
        else {}
    )
    return {
        **ehr,
        **escalation,
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
    region: str,
    *,
    config_path: str,
    origination_identity: str,
    fhir_base_url: str | None = None,
    reminder_concurrency: int | None = None,
) -> Iterator[LocalResources]:
    """moto in-process (`mock_aws`) with the stack's resources and the CARELINE_* environment set.

    The environment is restored on exit. A leftover `AWS_ENDPOINT_URL` (say, from a shell running
    `careline local`) would send calls past `mock_aws`, so it is lifted for the duration.
    """
    from moto import mock_aws

    saved = apply_environment(aws_environment(region))
    saved_endpoint = os.environ.pop("AWS_ENDPOINT_URL", None)
    try:
        with mock_aws(config=MOTO_CONFIG):
            resources = provision(region, reminder_concurrency=reminder_concurrency)
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
