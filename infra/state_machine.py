"""`logged_state_machine`: a Standard state machine as Careline runs them (the escalation workflow,
the reminder campaign): its own role holding one customer-managed policy, every state transition
logged to a CMK-encrypted `/aws/vendedlogs/states/...` group, X-Ray on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.function import log_retention

# CloudWatch Logs vended delivery and X-Ray: neither has resource-level permissions.
LOG_DELIVERY_ACTIONS = (
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
)
TRACING_ACTIONS = (
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
)


@dataclass(frozen=True)
class LoggedStateMachine:
    """What `logged_state_machine` adds to its scope."""

    log_group: logs.LogGroup
    role: iam.Role
    policy: iam.ManagedPolicy
    state_machine: sfn.StateMachine


def logged_state_machine(
    scope: Construct,
    *,
    name: str,
    label: str,
    role_grants: str,
    statements: Sequence[iam.PolicyStatement],
    named_services: str,
    definition_body: sfn.DefinitionBody,
    definition_substitutions: Mapping[str, str],
    key: kms.IKey,
    log_retention_days: int,
    include_execution_data: bool,
) -> LoggedStateMachine:
    """The Standard state machine `name` in `scope` (children `StateMachine`, `StateMachineLogs`,
    `StateMachineRole`, `StateMachinePolicy`). Its role holds `statements` (on the ARNs of
    `named_services`, as the acknowledged finding says) and the log delivery and X-Ray grants, and
    is described as `careline <label>: <role_grants>`; it logs ALL events, with their data only
    when `include_execution_data`."""
    stack = cdk.Stack.of(scope)
    log_group = logs.LogGroup(
        scope,
        "StateMachineLogs",
        log_group_name=f"/aws/vendedlogs/states/{name}",
        retention=log_retention(log_retention_days),
        encryption_key=key,
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    role = iam.Role(
        scope,
        "StateMachineRole",
        assumed_by=iam.ServicePrincipal(
            "states.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
        ),
        description=f"careline {label}: {role_grants}",
    )
    policy = iam.ManagedPolicy(
        scope,
        "StateMachinePolicy",
        description=f"careline {label}: least-privilege grants",
        roles=[role],
        statements=[
            *statements,
            iam.PolicyStatement(actions=list(LOG_DELIVERY_ACTIONS), resources=["*"]),
            iam.PolicyStatement(actions=list(TRACING_ACTIONS), resources=["*"]),
        ],
    )
    cdk.Validations.of(policy).acknowledge(
        cdk.Acknowledgment(
            id="AwsSolutions-IAM5[Resource::*]",
            reason="Step Functions' CloudWatch Logs delivery (logs:CreateLogDelivery and its kin) and "
            "X-Ray's trace writes support no resource-level permissions; AWS requires Resource '*' for "
            f"them. The {named_services} statements name their ARNs.",
        )
    )
    state_machine = sfn.StateMachine(
        scope,
        "StateMachine",
        state_machine_name=name,
        state_machine_type=sfn.StateMachineType.STANDARD,
        definition_body=definition_body,
        definition_substitutions=dict(definition_substitutions),
        role=role.without_policy_updates(),
        logs=sfn.LogOptions(
            destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=include_execution_data
        ),
        tracing_enabled=True,
    )
    # Step Functions checks the role's log delivery permission when it creates the machine.
    state_machine.node.add_dependency(policy)
    return LoggedStateMachine(log_group=log_group, role=role, policy=policy, state_machine=state_machine)
