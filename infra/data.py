"""The conversation store: the customer-managed key, the single table and the party-id hash secret."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

TTL_ATTRIBUTE = "expires_at"
AGENT_QUEUE_INDEX = "gsi1"

# What a service needs to encrypt into (and read back from) a resource protected by the key.
_SERVICE_KEY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"]


class EncryptionKey(Construct):
    """The customer-managed key protecting every Careline resource that holds data.

    Services are admitted in the key policy only on behalf of this account (and, for CloudWatch
    Logs, only for this account's log groups in this region).
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.key = kms.Key(
            self,
            "Key",
            description="Careline: conversation data, logs, topics and queues",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.key.add_alias(f"alias/{stack.stack_name.lower()}")

        source_account = {"StringEquals": {"aws:SourceAccount": stack.account}}
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsForThisAccount",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                            service="logs",
                            resource="log-group",
                            resource_name="*",
                            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                        )
                    }
                },
            )
        )
        for sid, service in (
            ("AllowSnsForThisAccount", "sns.amazonaws.com"),
            ("AllowSqsForThisAccount", "sqs.amazonaws.com"),
            # End User Messaging publishes inbound SMS to the encrypted topic.
            ("AllowEndUserMessagingForThisAccount", "sms-voice.amazonaws.com"),
            # CloudWatch alarms publish to the encrypted alarm topic.
            ("AllowCloudWatchAlarmsForThisAccount", "cloudwatch.amazonaws.com"),
        ):
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=sid,
                    principals=[iam.ServicePrincipal(service)],
                    actions=_SERVICE_KEY_ACTIONS,
                    resources=["*"],
                    conditions=source_account,
                )
            )


class ConversationStore(Construct):
    """The single table (see docs/architecture.md, "Table design") and the party-id hash key."""

    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        string = dynamodb.AttributeType.STRING
        self.table = dynamodb.TableV2(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name="pk", type=string),
            sort_key=dynamodb.Attribute(name="sk", type=string),
            billing=dynamodb.Billing.on_demand(),
            encryption=dynamodb.TableEncryptionV2.customer_managed_key(key),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
            time_to_live_attribute=TTL_ATTRIBUTE,
            dynamo_stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
            global_secondary_indexes=[
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=AGENT_QUEUE_INDEX,
                    partition_key=dynamodb.Attribute(name="gsi1pk", type=string),
                    sort_key=dynamodb.Attribute(name="gsi1sk", type=string),
                )
            ],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )

        self.hash_secret = secretsmanager.Secret(
            self,
            "PartyHashKey",
            description="Careline: HMAC key that turns phone numbers into party ids (no PHI in keys)",
            encryption_key=key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64,
                exclude_punctuation=True,
                include_space=False,
            ),
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        cdk.Validations.of(self.hash_secret).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-SMG4",
                reason="Every table key is an HMAC under this secret; rotating it would orphan "
                "every conversation until a re-keying job rewrites them (docs/decisions/0002).",
            ),
            cdk.Acknowledgment(
                id="HIPAA.Security-SecretsManagerRotationEnabled",
                reason="Every table key is an HMAC under this secret; rotating it would orphan "
                "every conversation until a re-keying job rewrites them (docs/decisions/0002).",
            ),
        )

    @property
    def index_arns(self) -> list[str]:
        """The table's own GSI ARNs, spelled out so no grant needs `index/*`."""
        return [f"{self.table.table_arn}/index/{AGENT_QUEUE_INDEX}"]
