"""What a function running the conversation engine's turn needs: its environment and its grants.

`TurnService` reads the same environment contract (docs/architecture.md) and touches the same
resources whichever channel the turn came in on: the table and its agent-queue index, the CMK, the
party-id hash secret, the event bus, the quarantine queue, the SMS sender (a caller can ask for
"the options" by text) and, when configured, the EHR connection secret. One place spells them out
so every turn function gets exactly these and nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs

from infra.data import ConversationStore
from infra.events import DomainEventBus
from infra.function import CarelineFunction
from infra.messaging import SmsChannel

TABLE_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
)


@dataclass(frozen=True)
class TurnResources:
    """The resources a conversation turn uses, and the one queue that parks unreadable events."""

    key: kms.IKey
    store: ConversationStore
    events: DomainEventBus
    sms: SmsChannel
    quarantine_queue: sqs.IQueue
    ehr_secret_arn: str | None = None
    ehr_secret_kms_key_arn: str | None = None

    def environment(self) -> dict[str, str]:
        """The environment contract `careline.composition.Settings` reads."""
        environment = {
            "CARELINE_TABLE_NAME": self.store.table.table_name,
            "CARELINE_KMS_KEY_ARN": self.key.key_arn,
            "CARELINE_HASH_SECRET_ARN": self.store.hash_secret.secret_arn,
            "CARELINE_EVENT_BUS_NAME": self.events.bus.event_bus_name,
            "CARELINE_QUARANTINE_QUEUE_URL": self.quarantine_queue.queue_url,
            "CARELINE_ORIGINATION_IDENTITY": self.sms.origination_identity,
            "CARELINE_SMS_CONFIGURATION_SET": self.sms.configuration_set_name,
            "CARELINE_MESSENGER": "sms",
        }
        if self.ehr_secret_arn:
            environment["CARELINE_EHR_SECRET_ARN"] = self.ehr_secret_arn
        return environment

    def grant(self, function: CarelineFunction) -> None:
        """Each action on exactly the resource it is used on."""
        function.allow(TABLE_ACTIONS, [self.store.table.table_arn, *self.store.index_arns])
        function.allow(["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"], [self.key.key_arn])
        function.allow(["secretsmanager:GetSecretValue"], [self.store.hash_secret.secret_arn])
        function.allow(["events:PutEvents"], [self.events.bus.event_bus_arn])
        function.allow(["sqs:SendMessage"], [self.quarantine_queue.queue_arn])
        function.allow(["sms-voice:SendTextMessage"], self.sms.send_resources)
        if self.ehr_secret_arn:
            function.allow(["secretsmanager:GetSecretValue"], [self.ehr_secret_arn])
            if self.ehr_secret_kms_key_arn:
                function.allow(["kms:Decrypt"], [self.ehr_secret_kms_key_arn])
