"""The inbound SMS turn: `sms_inbound`, its DLQ/quarantine queue, its bus and its least-privilege role."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match

from infra.conversation import SMS_INBOUND_CONCURRENCY
from tests.infra.synthesis import (
    ACCOUNT,
    EHR_SECRET_ARN,
    EHR_SECRET_KEY_ARN,
    REGION,
    Synthesized,
    arn_of,
    ref,
)

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]


def _id(synth: Synthesized, resource_type: str, prefix: str = "") -> str:
    (logical_id,) = [name for name in synth.resources(resource_type) if name.startswith(prefix)]
    return logical_id


def _function(synth: Synthesized) -> dict[str, Any]:
    function: dict[str, Any] = synth.template_json["Resources"][
        _id(synth, "AWS::Lambda::Function", "ConversationSmsInbound")
    ]
    return function


def test_sms_inbound_runs_python312_on_arm64_with_tracing_and_both_layers(synth: Synthesized) -> None:
    props = _function(synth)["Properties"]
    assert props["Runtime"] == "python3.12"
    assert props["Architectures"] == ["arm64"]
    assert props["Handler"] == "handler.handler"
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["ReservedConcurrentExecutions"] == SMS_INBOUND_CONCURRENCY
    assert props["Layers"] == [
        ref(_id(synth, "AWS::Lambda::LayerVersion", "LayersDependencies")),
        ref(_id(synth, "AWS::Lambda::LayerVersion", "LayersCode")),
    ]


def test_sms_inbound_environment_is_the_documented_contract(synth: Synthesized) -> None:
    variables = _function(synth)["Properties"]["Environment"]["Variables"]
    assert variables == {
        "POWERTOOLS_SERVICE_NAME": "careline",
        "POWERTOOLS_METRICS_NAMESPACE": "Careline",
        "LOG_LEVEL": "INFO",
        "CARELINE_CONFIG_PATH": "/opt/python/careline_config/practice.yaml",
        "CARELINE_TABLE_NAME": ref(_id(synth, "AWS::DynamoDB::GlobalTable")),
        "CARELINE_KMS_KEY_ARN": arn_of(_id(synth, "AWS::KMS::Key")),
        "CARELINE_HASH_SECRET_ARN": ref(_id(synth, "AWS::SecretsManager::Secret")),
        "CARELINE_EVENT_BUS_NAME": ref(_id(synth, "AWS::Events::EventBus")),
        "CARELINE_QUARANTINE_QUEUE_URL": ref(_id(synth, "AWS::SQS::Queue", "Conversation")),
        "CARELINE_ORIGINATION_IDENTITY": arn_of(_id(synth, "AWS::SMSVOICE::PhoneNumber")),
        "CARELINE_SMS_CONFIGURATION_SET": ref(_id(synth, "AWS::SMSVOICE::ConfigurationSet")),
        "CARELINE_MESSENGER": "sms",
    }


def test_failed_async_invocations_retry_twice_then_land_on_the_dlq(synth: Synthesized) -> None:
    queue_id = _id(synth, "AWS::SQS::Queue", "Conversation")
    assert _function(synth)["Properties"]["DeadLetterConfig"] == {"TargetArn": arn_of(queue_id)}
    synth.template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig", {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 21600}
    )


def test_dlq_is_encrypted_with_the_cmk_and_refuses_plain_http(synth: Synthesized) -> None:
    queue_id = _id(synth, "AWS::SQS::Queue", "Conversation")
    synth.template.has_resource_properties(
        "AWS::SQS::Queue",
        {"KmsMasterKeyId": arn_of(_id(synth, "AWS::KMS::Key")), "MessageRetentionPeriod": 1209600},
    )
    synth.template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "Queues": [ref(queue_id)],
            "PolicyDocument": Match.object_like(
                {
                    "Statement": [
                        Match.object_like(
                            {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                        )
                    ]
                }
            ),
        },
    )


def test_sms_inbound_is_subscribed_to_the_inbound_topic(synth: Synthesized) -> None:
    function_id = _id(synth, "AWS::Lambda::Function", "ConversationSmsInbound")
    synth.template.has_resource_properties(
        "AWS::SNS::Subscription",
        {
            "Protocol": "lambda",
            "TopicArn": ref(_id(synth, "AWS::SNS::Topic", "SmsInboundTopic")),
            "Endpoint": arn_of(function_id),
        },
    )
    synth.template.has_resource_properties(
        "AWS::Lambda::Permission",
        {
            "Action": "lambda:InvokeFunction",
            "Principal": "sns.amazonaws.com",
            "FunctionName": arn_of(function_id),
            "SourceArn": ref(_id(synth, "AWS::SNS::Topic", "SmsInboundTopic")),
        },
    )


def test_domain_events_go_to_the_careline_bus_encrypted_with_the_cmk(synth: Synthesized) -> None:
    synth.template.has_resource_properties(
        "AWS::Events::EventBus",
        {"Name": "careline", "KmsKeyIdentifier": arn_of(_id(synth, "AWS::KMS::Key"))},
    )


def test_sms_inbound_role_is_assumable_by_lambda_only_and_has_no_inline_or_aws_managed_policy(
    synth: Synthesized,
) -> None:
    role_id = _id(synth, "AWS::IAM::Role", "ConversationSmsInbound")
    role = synth.template_json["Resources"][role_id]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
    ]
    assert "Policies" not in role
    assert "ManagedPolicyArns" not in role
    synth.template.resource_count_is("AWS::IAM::Policy", 0)


def test_sms_inbound_policy_grants_exactly_what_the_turn_uses(synth: Synthesized) -> None:
    policy = synth.template_json["Resources"][_id(synth, "AWS::IAM::ManagedPolicy", "ConversationSmsInbound")]
    assert policy["Properties"]["Roles"] == [ref(_id(synth, "AWS::IAM::Role", "ConversationSmsInbound"))]
    table = arn_of(_id(synth, "AWS::DynamoDB::GlobalTable"))
    grants = {
        _as_tuple(s["Action"]): s["Resource"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow"
    }
    assert grants == {
        ("logs:CreateLogStream", "logs:PutLogEvents"): arn_of(
            _id(synth, "AWS::Logs::LogGroup", "ConversationSmsInbound")
        ),
        ("xray:PutTraceSegments", "xray:PutTelemetryRecords"): "*",
        (
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
            "dynamodb:Query",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:BatchWriteItem",
            "dynamodb:ConditionCheckItem",
            "dynamodb:DescribeTable",
        ): [table, {"Fn::Join": ["", [table, "/index/gsi1"]]}],
        ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"): arn_of(_id(synth, "AWS::KMS::Key")),
        ("secretsmanager:GetSecretValue",): ref(_id(synth, "AWS::SecretsManager::Secret")),
        ("events:PutEvents",): arn_of(_id(synth, "AWS::Events::EventBus")),
        ("sqs:SendMessage",): arn_of(_id(synth, "AWS::SQS::Queue", "Conversation")),
        ("sms-voice:SendTextMessage",): [
            arn_of(_id(synth, "AWS::SMSVOICE::PhoneNumber")),
            arn_of(_id(synth, "AWS::SMSVOICE::ConfigurationSet")),
        ],
    }


def test_only_xray_and_lex_speech_are_granted_on_every_resource(synth: Synthesized) -> None:
    # Both have no resource-level permissions (ADR 0002 lists each acknowledgment).
    wildcard_actions = [
        action
        for policy in synth.resources("AWS::IAM::ManagedPolicy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Resource"] == "*" or "*" in _as_tuple(s["Resource"])
        for action in _as_tuple(s["Action"])
    ]
    escalation_workflow = [  # Step Functions' vended log delivery and X-Ray (infra/escalation.py)
        "logs:CreateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:DescribeLogGroups",
        "logs:DescribeResourcePolicies",
        "logs:GetLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:UpdateLogDelivery",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    ]
    # (each function has its own X-Ray statement: compared as a set)
    assert set(wildcard_actions) == {
        "polly:SynthesizeSpeech",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
        *escalation_workflow,
    }


def test_a_brought_pool_scopes_sends_to_its_arn_and_the_configuration_set(
    synth_brought_number: Synthesized,
) -> None:
    synth = synth_brought_number
    policy = synth.template_json["Resources"][_id(synth, "AWS::IAM::ManagedPolicy", "ConversationSmsInbound")]
    (send,) = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "sms-voice:SendTextMessage"
    ]
    pool_arn = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                f":sms-voice:{REGION}:{ACCOUNT}:pool/pool-0123456789abcdef0123456789abcdef",
            ],
        ]
    }
    assert send["Resource"] == [pool_arn, arn_of(_id(synth, "AWS::SMSVOICE::ConfigurationSet"))]


def _as_tuple(value: str | list[Any]) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, list) else (value,)


def test_without_an_ehr_secret_the_function_is_told_of_none(synth: Synthesized) -> None:
    assert "CARELINE_EHR_SECRET_ARN" not in _function(synth)["Properties"]["Environment"]["Variables"]


def test_a_brought_ehr_secret_and_its_key_are_readable_by_the_function_alone(
    synth_brought_number: Synthesized,
) -> None:
    synth = synth_brought_number
    assert (
        _function(synth)["Properties"]["Environment"]["Variables"]["CARELINE_EHR_SECRET_ARN"]
        == EHR_SECRET_ARN
    )
    statements = [
        s
        for policy in synth.resources("AWS::IAM::ManagedPolicy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert {
        "Action": "secretsmanager:GetSecretValue",
        "Effect": "Allow",
        "Resource": EHR_SECRET_ARN,
    } in statements
    assert {"Action": "kms:Decrypt", "Effect": "Allow", "Resource": EHR_SECRET_KEY_ARN} in statements
