"""`CarelineStack`: composes the domain constructs into one stack per practice."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from careline.config import PracticeConfig
from constructs import Construct

from infra.conversation import SmsConversation
from infra.data import ConversationStore, EncryptionKey
from infra.events import DomainEventBus
from infra.layers import CarelineLayers
from infra.messaging import SmsChannel
from infra.observability import Alarms
from infra.voice import VoiceBot


class CarelineStack(cdk.Stack):
    """Everything one practice runs, in the practice's own account and region."""

    def __init__(self, scope: Construct, *, config: PracticeConfig, config_path: Path) -> None:
        deployment = config.deployment
        super().__init__(
            scope,
            deployment.stack_name,
            description=f"Careline contact center for {config.practice.name}",
            # Explicit env: synth never asks STS, and the CMK-encrypted TableV2 requires it.
            env=cdk.Environment(account=deployment.account, region=deployment.region),
            termination_protection=True,
        )
        cdk.Tags.of(self).add("application", "careline")

        self.encryption = EncryptionKey(self, "Encryption")
        key = self.encryption.key
        self.store = ConversationStore(self, "Store", key=key)
        self.events = DomainEventBus(self, "Events", key=key)
        self.sms = SmsChannel(self, "Sms", config=config, key=key)
        self.layers = CarelineLayers(self, "Layers", config_path=config_path)
        self.conversation = SmsConversation(
            self,
            "Conversation",
            key=key,
            store=self.store,
            events=self.events,
            sms=self.sms,
            layers=self.layers,
            log_retention_days=deployment.log_retention_days,
            ehr_secret_arn=deployment.ehr_secret_arn,
            ehr_secret_kms_key_arn=deployment.ehr_secret_kms_key_arn,
        )
        # The phone line's bot, compiled from the same bot model as the text classifier.
        self.voice = VoiceBot(self, "Voice", key=key)
        self.alarms = Alarms(self, "Alarms", key=key, alarm_email=deployment.alarm_email)
        self.alarms.watch_function("SmsInbound", self.conversation.handler.function)
        self.alarms.watch_dead_letter_queue("SmsInbound", self.conversation.dead_letter_queue)

        cdk.CfnOutput(self, "TableName", value=self.store.table.table_name)
        cdk.CfnOutput(self, "AlarmTopicArn", value=self.alarms.topic.topic_arn)
