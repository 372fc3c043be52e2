"""The customer-managed key, the conversation table and the party-id hash secret."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match

from tests.infra.synthesis import ACCOUNT, REGION, Synthesized, arn_of

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]


def _key_id(synth: Synthesized) -> str:
    return synth.only("AWS::KMS::Key")[0]


def test_the_customer_managed_key_rotates_and_is_retained(synth: Synthesized) -> None:
    logical_id, key = synth.only("AWS::KMS::Key")
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"
    synth.template.has_resource_properties(
        "AWS::KMS::Alias", {"AliasName": "alias/carelinetest", "TargetKeyId": arn_of(logical_id)}
    )


@pytest.mark.parametrize(
    "service",
    ["sns.amazonaws.com", "sqs.amazonaws.com", "sms-voice.amazonaws.com", "cloudwatch.amazonaws.com"],
)
def test_key_policy_admits_a_service_only_for_this_account(synth: Synthesized, service: str) -> None:
    _, key = synth.only("AWS::KMS::Key")
    statements = [
        s for s in key["Properties"]["KeyPolicy"]["Statement"] if s.get("Principal") == {"Service": service}
    ]
    assert len(statements) == 1
    statement = statements[0]
    assert statement["Effect"] == "Allow"
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}


def test_key_policy_admits_cloudwatch_logs_only_for_this_accounts_log_groups(synth: Synthesized) -> None:
    _, key = synth.only("AWS::KMS::Key")
    (statement,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": f"logs.{REGION}.amazonaws.com"}
    ]
    log_groups_of_this_account = {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":logs:{REGION}:{ACCOUNT}:log-group:*"]]
    }
    assert statement["Condition"] == {
        "ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups_of_this_account}
    }


def test_table_is_on_demand_recoverable_protected_and_encrypted_with_the_cmk(synth: Synthesized) -> None:
    key_id = _key_id(synth)
    synth.template.has_resource(
        "AWS::DynamoDB::GlobalTable",
        {
            "DeletionPolicy": "Retain",
            "Properties": Match.object_like(
                {
                    "BillingMode": "PAY_PER_REQUEST",
                    "KeySchema": [
                        {"AttributeName": "pk", "KeyType": "HASH"},
                        {"AttributeName": "sk", "KeyType": "RANGE"},
                    ],
                    "AttributeDefinitions": Match.array_with(
                        [
                            {"AttributeName": "pk", "AttributeType": "S"},
                            {"AttributeName": "sk", "AttributeType": "S"},
                            {"AttributeName": "gsi1pk", "AttributeType": "S"},
                            {"AttributeName": "gsi1sk", "AttributeType": "S"},
                        ]
                    ),
                    "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
                    "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
                    "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS"},
                    "Replicas": [
                        Match.object_like(
                            {
                                "Region": REGION,
                                "DeletionProtectionEnabled": True,
                                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                                "SSESpecification": {"KMSMasterKeyId": arn_of(key_id)},
                            }
                        )
                    ],
                }
            ),
        },
    )


def test_table_has_the_agent_queue_index(synth: Synthesized) -> None:
    synth.template.has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "gsi1",
                    "KeySchema": [
                        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ]
        },
    )


def test_party_hash_secret_is_a_generated_64_char_key_under_the_cmk(synth: Synthesized) -> None:
    key_id = _key_id(synth)
    synth.template.has_resource(
        "AWS::SecretsManager::Secret",
        {
            "DeletionPolicy": "Retain",
            "Properties": Match.object_like(
                {
                    "KmsKeyId": arn_of(key_id),
                    "GenerateSecretString": {
                        "PasswordLength": 64,
                        "ExcludePunctuation": True,
                        "IncludeSpace": False,
                    },
                }
            ),
        },
    )
