"""`CarelineStack`: composes the domain constructs into one stack per practice."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from careline.config import PracticeConfig
from constructs import Construct

from infra.agent_panel import AgentPanel
from infra.contact_center import ContactCenter
from infra.conversation import SmsConversation
from infra.data import ConversationStore, EncryptionKey
from infra.escalation import EscalationWorkflow
from infra.events import DomainEventBus
from infra.layers import CarelineLayers
from infra.messaging import SmsChannel
from infra.observability import Alarms
from infra.reminders import Reminders
from infra.turn_access import TurnResources
from infra.voice import VoiceBot, VoiceTurn


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
        # The phone line: the voice turn function, the Lex bot it answers for (compiled from the same
        # bot model as the text classifier) and Amazon Connect in front of them. Without it the bot
        # is still built, with no code hook, as before the phone line existed.
        self.voice_turn = self._voice_turn(config) if deployment.voice.enabled else None
        self.voice = VoiceBot(
            self, "Voice", key=key, code_hook=self.voice_turn.function if self.voice_turn else None
        )
        self.alarms = Alarms(self, "Alarms", key=key, alarm_email=deployment.alarm_email)
        self.alarms.watch_function("SmsInbound", self.conversation.handler.function)
        self.alarms.watch_dead_letter_queue("SmsInbound", self.conversation.dead_letter_queue)
        # Staff see the escalations of their queues, read the patient's context, accept, reply, hand back.
        self.agent_panel = AgentPanel(
            self,
            "AgentPanel",
            key=key,
            store=self.store,
            sms=self.sms,
            layers=self.layers,
            log_retention_days=deployment.log_retention_days,
        )
        self.alarms.watch_function("AgentApi", self.agent_panel.handler.function)
        self.contact_center = self._contact_center(config) if deployment.voice.enabled else None
        # After the contact center: with a phone line, escalations by text become Connect tasks.
        self.escalation = EscalationWorkflow(
            self,
            "Escalation",
            config=config,
            key=key,
            store=self.store,
            events_bus=self.events,
            sms=self.sms,
            layers=self.layers,
            alarms=self.alarms,
            log_retention_days=deployment.log_retention_days,
            contact_center=self.contact_center,
        )
        self.agent_panel.allow_task_response(self.escalation.state_machine)
        cdk.CfnOutput(
            self, "EscalationStateMachineArn", value=self.escalation.state_machine.state_machine_arn
        )
        # Nightly no-show scoring, the reminder campaign and waitlist backfill, on schedules.
        self.reminders = Reminders(
            self,
            "Reminders",
            config=config,
            key=key,
            store=self.store,
            events_bus=self.events,
            sms=self.sms,
            layers=self.layers,
            alarms=self.alarms,
            log_retention_days=deployment.log_retention_days,
        )
        cdk.CfnOutput(self, "RemindersStateMachineArn", value=self.reminders.state_machine.state_machine_arn)

        cdk.CfnOutput(self, "TableName", value=self.store.table.table_name)
        cdk.CfnOutput(self, "AlarmTopicArn", value=self.alarms.topic.topic_arn)
        cdk.CfnOutput(self, "AgentPanelUrl", value=self.agent_panel.url)
        cdk.CfnOutput(self, "StaffUserPoolId", value=self.agent_panel.user_pool.user_pool_id)

    def _voice_turn(self, config: PracticeConfig) -> VoiceTurn:
        deployment = config.deployment
        return VoiceTurn(
            self,
            "VoiceTurn",
            resources=TurnResources(
                key=self.encryption.key,
                store=self.store,
                events=self.events,
                sms=self.sms,
                quarantine_queue=self.conversation.dead_letter_queue,
                ehr_secret_arn=deployment.ehr_secret_arn,
                ehr_secret_kms_key_arn=deployment.ehr_secret_kms_key_arn,
            ),
            layers=self.layers,
            log_retention_days=deployment.log_retention_days,
        )

    def _contact_center(self, config: PracticeConfig) -> ContactCenter:
        assert self.voice_turn is not None
        center = ContactCenter(
            self,
            "ContactCenter",
            config=config,
            bot=self.voice,
            layers=self.layers,
            key=self.encryption.key,
            log_retention_days=config.deployment.log_retention_days,
        )
        self.alarms.watch_function("VoiceTurn", self.voice_turn.function)
        self.alarms.watch_function("VoiceContact", center.greeting.function)
        cdk.CfnOutput(self, "ConnectInstanceId", value=center.instance_id)
        cdk.CfnOutput(self, "ConnectInstanceArn", value=center.instance_arn)
        cdk.CfnOutput(
            self,
            "PhoneNumber",
            value=center.phone_number_display,
            description="The phone line: the claimed number (E.164), or the ARN of the number brought",
        )
        cdk.CfnOutput(self, "ContactFlowId", value=center.flow_id)
        return center
