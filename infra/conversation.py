"""The inbound SMS turn: `functions/sms_inbound`, fed by the inbound topic, with its DLQ."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.data import ConversationStore
from infra.events import DomainEventBus
from infra.function import CarelineFunction
from infra.layers import CarelineLayers
from infra.messaging import SmsChannel
from infra.turn_access import TurnResources

# A practice's inbound SMS rate is low; a cap keeps a flood (or a loop) from exhausting the
# account's concurrency. Throttled SNS deliveries wait in Lambda's async queue (up to 6 h), so a
# burst is delayed, never dropped.
SMS_INBOUND_CONCURRENCY = 5


class SmsConversation(Construct):
    """`sms_inbound` subscribed to the inbound topic; async failures and unparseable events land
    on one CMK-encrypted queue (the function's DLQ, also its quarantine queue)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        store: ConversationStore,
        events: DomainEventBus,
        sms: SmsChannel,
        layers: CarelineLayers,
        log_retention_days: int,
        ehr_secret_arn: str | None = None,
        ehr_secret_kms_key_arn: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)

        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            # Reused data keys keep KMS calls (and cost) down for a queue that is rarely written.
            data_key_reuse=cdk.Duration.hours(1),
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        resources = TurnResources(
            key=key,
            store=store,
            events=events,
            sms=sms,
            quarantine_queue=self.dead_letter_queue,
            ehr_secret_arn=ehr_secret_arn,
            ehr_secret_kms_key_arn=ehr_secret_kms_key_arn,
        )
        self.handler = CarelineFunction(
            self,
            "SmsInbound",
            name="sms_inbound",
            description="One inbound SMS turn: opt-out keywords, safety, dialog, reply",
            layers=layers,
            key=key,
            log_retention_days=log_retention_days,
            reserved_concurrency=SMS_INBOUND_CONCURRENCY,
            environment=resources.environment(),
        )
        fn = self.handler
        # The DLQ is set on the L1 so Lambda's own grant helper (which adds kms:ReEncrypt* and
        # kms:GenerateDataKey*) stays out of the role; the exact statements are granted below.
        cfn_function = fn.function.node.default_child
        assert isinstance(cfn_function, lambda_.CfnFunction)
        cfn_function.dead_letter_config = lambda_.CfnFunction.DeadLetterConfigProperty(
            target_arn=self.dead_letter_queue.queue_arn
        )
        fn.function.configure_async_invoke(retry_attempts=2, max_event_age=cdk.Duration.hours(6))

        resources.grant(fn)

        fn.function.add_event_source(event_sources.SnsEventSource(sms.inbound_topic))
