"""`CarelineFunction`: a Lambda function with the defaults every Careline function needs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.layers import ARCHITECTURE, CONFIG_PATH_IN_LAMBDA, REPO_ROOT, RUNTIME, CarelineLayers

FUNCTIONS_DIR = REPO_ROOT / "functions"

DEFAULT_TIMEOUT = cdk.Duration.seconds(30)

POWERTOOLS_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "careline",
    "POWERTOOLS_METRICS_NAMESPACE": "Careline",
    "LOG_LEVEL": "INFO",
}


class CarelineFunction(Construct):
    """One function from `functions/<name>/handler.py`: python3.12 on arm64, X-Ray active, the
    two Careline layers, an explicit CMK-encrypted log group, and its own role holding nothing
    but what `allow` adds (one customer-managed policy, no AWS-managed ones).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        description: str,
        layers: CarelineLayers,
        key: kms.IKey,
        log_retention_days: int,
        environment: Mapping[str, str],
        timeout: cdk.Duration = DEFAULT_TIMEOUT,
        memory_size: int = 512,
        reserved_concurrency: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        code_dir = FUNCTIONS_DIR / name
        code_dir.mkdir(parents=True, exist_ok=True)

        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=log_retention(log_retention_days),
            encryption_key=key,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"careline {name}: only the grants its handler uses",
        )
        # One customer-managed policy holds every grant: HIPAA.Security forbids inline policies,
        # so the function gets the role without policy updates and nothing lands in a DefaultPolicy.
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description=f"careline {name}: least-privilege grants",
            roles=[self.role],
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler="handler.handler",
            code=lambda_.Code.from_asset(str(code_dir), exclude=["__pycache__", "*.pyc"]),
            layers=layers.all,
            role=self.role.without_policy_updates(),
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            timeout=timeout,
            memory_size=memory_size,
            reserved_concurrent_executions=reserved_concurrency,
            environment={
                **POWERTOOLS_ENVIRONMENT,
                "CARELINE_CONFIG_PATH": CONFIG_PATH_IN_LAMBDA,
                **environment,
            },
        )
        # Lambda validates the role (and a DLQ permission) when it creates the function.
        self.function.node.add_dependency(self.policy)
        # Only the log group's own streams; the explicit log group makes this an exact ARN.
        self.allow(["logs:CreateLogStream", "logs:PutLogEvents"], [self.log_group.log_group_arn])
        # X-Ray accepts no resource-level permissions for these actions.
        self.allow(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"])
        self._acknowledge_function_findings()

    def allow(self, actions: Sequence[str], resources: Sequence[str]) -> None:
        """Grant `actions` on exactly `resources` to this function's role."""
        self.policy.add_statements(iam.PolicyStatement(actions=list(actions), resources=list(resources)))

    def park_failures_on(
        self, queue: sqs.IQueue, *, retry_attempts: int, max_event_age: cdk.Duration
    ) -> None:
        """An asynchronous invocation that still fails after `retry_attempts` (or outlives
        `max_event_age`) lands on `queue`, which this function may send to. The DLQ is set on the
        L1: Lambda's own grant helper would add broader KMS actions (kms:ReEncrypt*,
        kms:GenerateDataKey*) than a queue producer needs; a grant on the queue's key is the
        caller's."""
        cfn_function = self.function.node.default_child
        assert isinstance(cfn_function, lambda_.CfnFunction)
        cfn_function.dead_letter_config = lambda_.CfnFunction.DeadLetterConfigProperty(
            target_arn=queue.queue_arn
        )
        self.allow(["sqs:SendMessage"], [queue.queue_arn])
        self.function.configure_async_invoke(retry_attempts=retry_attempts, max_event_age=max_event_age)

    def acknowledge_synchronous(self, reason: str) -> None:
        """Acknowledge HIPAA.Security-LambdaDLQ for a function that is only invoked synchronously:
        `reason` says who invokes it and what becomes of a failure."""
        cdk.Validations.of(self.function).acknowledge(
            cdk.Acknowledgment(id="HIPAA.Security-LambdaDLQ", reason=reason)
        )

    def _acknowledge_function_findings(self) -> None:
        validations = cdk.Validations.of(self.function)
        validations.acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-L1",
                reason="Careline pins python3.12 on arm64 (issue 2): the dependency layer is built "
                "for cp312 wheels, and the runtime moves with the layer in one deliberate change.",
            ),
            cdk.Acknowledgment(
                id="HIPAA.Security-LambdaInsideVPC",
                reason="The function calls only AWS regional service endpoints (DynamoDB, KMS, "
                "Secrets Manager, SQS, EventBridge, End User Messaging, X-Ray) over TLS with SigV4; "
                "it reaches no VPC resource, and PHI is field-encrypted before it leaves the function.",
            ),
        )
        cdk.Validations.of(self.policy).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level "
                "permissions; AWS requires Resource '*' for them. Every other statement names its ARN.",
            )
        )


# CloudWatch Logs accepts only these retention periods (days).
_RETENTION_STEPS: tuple[tuple[int, logs.RetentionDays], ...] = (
    (1, logs.RetentionDays.ONE_DAY),
    (3, logs.RetentionDays.THREE_DAYS),
    (5, logs.RetentionDays.FIVE_DAYS),
    (7, logs.RetentionDays.ONE_WEEK),
    (14, logs.RetentionDays.TWO_WEEKS),
    (30, logs.RetentionDays.ONE_MONTH),
    (60, logs.RetentionDays.TWO_MONTHS),
    (90, logs.RetentionDays.THREE_MONTHS),
    (120, logs.RetentionDays.FOUR_MONTHS),
    (150, logs.RetentionDays.FIVE_MONTHS),
    (180, logs.RetentionDays.SIX_MONTHS),
    (365, logs.RetentionDays.ONE_YEAR),
    (400, logs.RetentionDays.THIRTEEN_MONTHS),
    (545, logs.RetentionDays.EIGHTEEN_MONTHS),
    (731, logs.RetentionDays.TWO_YEARS),
    (1096, logs.RetentionDays.THREE_YEARS),
    (1827, logs.RetentionDays.FIVE_YEARS),
    (2192, logs.RetentionDays.SIX_YEARS),
    (2557, logs.RetentionDays.SEVEN_YEARS),
    (2922, logs.RetentionDays.EIGHT_YEARS),
    (3288, logs.RetentionDays.NINE_YEARS),
    (3653, logs.RetentionDays.TEN_YEARS),
)


def log_retention(days: int) -> logs.RetentionDays:
    """The CloudWatch retention for `days`, rounded up so logs are never kept shorter than asked."""
    for step_days, retention in _RETENTION_STEPS:
        if step_days >= days:
            return retention
    return logs.RetentionDays.TEN_YEARS
