"""The phone line's conversation: the Lex V2 voice bot compiled from the bot model (locale en_US, a
version and the `live` alias) and `functions/voice_turn`, its code hook, which runs each caller turn
through the conversation engine. Amazon Connect's side of the call is `infra/contact_center.py`."""

from __future__ import annotations

import re

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lex as lex
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.bot_model import LOCALE_ID, LexIntent, compile_intents, fingerprint, load_bot_model
from infra.function import CarelineFunction, log_retention
from infra.layers import CarelineLayers
from infra.turn_access import TurnResources

ALIAS_NAME = "live"
FALLBACK_INTENT = "FallbackIntent"
# Lex's own default: below it the turn goes to the fallback intent (and so to the engine).
NLU_CONFIDENCE_THRESHOLD = 0.4
# A phone call's Lex session: five silent minutes end it.
IDLE_SESSION_TTL_SECONDS = 300
# The Lex V2 code-hook event/response format the voice turn handler speaks.
CODE_HOOK_INTERFACE_VERSION = "1.0"
# Connect gives Lex about 8 s a turn: the function answers, or gives up, well inside that.
VOICE_TURN_TIMEOUT = cdk.Duration.seconds(7)
# Turns take well under a second; 10 at once is more simultaneous callers than a practice's lines.
# A throttled turn is a Lex error, which the contact flow answers with an apology and the front desk.
VOICE_TURN_CONCURRENCY = 10


def _bot_name(stack_name: str) -> str:
    # Lex bot names: letters and digits, single `_`/`-` between them, at most 100 characters.
    base = re.sub(r"[^0-9A-Za-z]+", "-", stack_name).strip("-")
    return f"{base}-voice"[-100:].lstrip("-_")


class VoiceBot(Construct):
    """`CfnBot` (en_US) with every model intent and `AMAZON.FallbackIntent`, a version built from
    the draft, and the `live` alias on it.

    Every model intent hands its dialog and fulfillment to the conversation engine (code hooks on);
    the fallback hands its fulfillment over too, so a turn Lex does not understand still reaches
    the engine. The hooks call whatever Lambda the alias names: `code_hook` (unset until the voice
    turn function exists, in which case Lex answers nothing on its own).

    Lex assumes its own role: `polly:SynthesizeSpeech` only, plus, with `text_log_retention_days`,
    writes to one CMK-encrypted log group of text conversation logs (off by default: the engine
    keeps the record, and raw transcripts would copy PHI into a second place).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        code_hook: lambda_.IFunction | None = None,
        text_log_retention_days: int | None = None,
        intents: tuple[LexIntent, ...] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.intents = intents if intents is not None else compile_intents(load_bot_model())

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "lexv2.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
            description="careline voice bot: Lex V2 speech synthesis and its own conversation logs",
        )
        # One customer-managed policy (HIPAA.Security forbids inline policies), as for the functions.
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description="careline voice bot: least-privilege grants for Lex V2",
            roles=[self.role],
        )
        self.policy.add_statements(iam.PolicyStatement(actions=["polly:SynthesizeSpeech"], resources=["*"]))
        cdk.Validations.of(self.policy).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="polly:SynthesizeSpeech is authorized against a pronunciation lexicon only when "
                "the request names one; the bot names none, so AWS requires Resource '*' for its speech.",
            )
        )

        self.log_group: logs.LogGroup | None = None
        conversation_logs: lex.CfnBotAlias.ConversationLogSettingsProperty | None = None
        if text_log_retention_days is not None:
            self.log_group = logs.LogGroup(
                self,
                "ConversationLogs",
                retention=log_retention(text_log_retention_days),
                encryption_key=key,
                removal_policy=cdk.RemovalPolicy.RETAIN,
            )
            self.policy.add_statements(
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[self.log_group.log_group_arn],
                )
            )
            conversation_logs = lex.CfnBotAlias.ConversationLogSettingsProperty(
                text_log_settings=[
                    lex.CfnBotAlias.TextLogSettingProperty(
                        enabled=True,
                        destination=lex.CfnBotAlias.TextLogDestinationProperty(
                            cloud_watch=lex.CfnBotAlias.CloudWatchLogGroupLogDestinationProperty(
                                cloud_watch_log_group_arn=self.log_group.log_group_arn,
                                log_prefix=f"{ALIAS_NAME}/",
                            )
                        ),
                    )
                ]
            )

        self.bot = lex.CfnBot(
            self,
            "Bot",
            name=_bot_name(stack.stack_name),
            description="Careline phone line: the conversation engine behind Amazon Connect",
            role_arn=self.role.role_arn,
            # COPPA: the line serves adult patients and parents or guardians calling for a child; it
            # is not directed at children under 13. A practice whose line is must set this to true.
            data_privacy={"ChildDirected": False},
            idle_session_ttl_in_seconds=IDLE_SESSION_TTL_SECONDS,
            auto_build_bot_locales=True,
            bot_locales=[
                lex.CfnBot.BotLocaleProperty(
                    locale_id=LOCALE_ID,
                    nlu_confidence_threshold=NLU_CONFIDENCE_THRESHOLD,
                    intents=[*(self._intent(i) for i in self.intents), self._fallback_intent()],
                )
            ],
        )
        # Lex checks that it may assume the role, and what the role allows, when it builds the bot.
        self.bot.node.add_dependency(self.policy)

        # Versions are immutable: a changed model gets a new version resource (and the alias moves).
        self.version = lex.CfnBotVersion(
            self,
            f"Version{fingerprint(self.intents)}",
            bot_id=self.bot.attr_id,
            description="Careline voice bot, compiled from careline/nlu/bot_model.yaml",
            bot_version_locale_specification=[
                lex.CfnBotVersion.BotVersionLocaleSpecificationProperty(
                    locale_id=LOCALE_ID,
                    bot_version_locale_details=lex.CfnBotVersion.BotVersionLocaleDetailsProperty(
                        source_bot_version="DRAFT"
                    ),
                )
            ],
        )

        locale_setting = lex.CfnBotAlias.BotAliasLocaleSettingsProperty(
            enabled=True,
            code_hook_specification=(
                lex.CfnBotAlias.CodeHookSpecificationProperty(
                    lambda_code_hook=lex.CfnBotAlias.LambdaCodeHookProperty(
                        code_hook_interface_version=CODE_HOOK_INTERFACE_VERSION,
                        lambda_arn=code_hook.function_arn,
                    )
                )
                if code_hook is not None
                else None
            ),
        )
        self.alias = lex.CfnBotAlias(
            self,
            "Alias",
            bot_alias_name=ALIAS_NAME,
            bot_id=self.bot.attr_id,
            bot_version=self.version.attr_bot_version,
            description="The version the phone line uses",
            bot_alias_locale_settings=[
                lex.CfnBotAlias.BotAliasLocaleSettingsItemProperty(
                    locale_id=LOCALE_ID, bot_alias_locale_setting=locale_setting
                )
            ],
            conversation_log_settings=conversation_logs,
        )
        if code_hook is not None:
            # Only this alias of this bot may invoke the code hook.
            code_hook.add_permission(
                "InvokedByVoiceBotAlias",
                principal=iam.ServicePrincipal("lexv2.amazonaws.com"),
                source_arn=self.alias.attr_arn,
                source_account=stack.account,
            )

    @staticmethod
    def _intent(intent: LexIntent) -> lex.CfnBot.IntentProperty:
        return lex.CfnBot.IntentProperty(
            name=intent.name,
            description=intent.description or None,
            sample_utterances=[lex.CfnBot.SampleUtteranceProperty(utterance=u) for u in intent.utterances],
            dialog_code_hook=lex.CfnBot.DialogCodeHookSettingProperty(enabled=True),
            fulfillment_code_hook=lex.CfnBot.FulfillmentCodeHookSettingProperty(enabled=True),
        )

    @staticmethod
    def _fallback_intent() -> lex.CfnBot.IntentProperty:
        return lex.CfnBot.IntentProperty(
            name=FALLBACK_INTENT,
            description="Nothing matched: the conversation engine decides what to say",
            parent_intent_signature="AMAZON.FallbackIntent",
            fulfillment_code_hook=lex.CfnBot.FulfillmentCodeHookSettingProperty(enabled=True),
        )


class VoiceTurn(Construct):
    """`functions/voice_turn`: the voice bot's code hook, one caller turn through the engine.

    The same environment contract and grants as the SMS turn (`TurnResources`); unreadable events
    are parked on the SMS turn's quarantine queue. Lex invokes it synchronously and the caller hears
    the fallback if it fails, so there is no dead-letter queue: nothing is ever delivered late.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        resources: TurnResources,
        layers: CarelineLayers,
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.handler = CarelineFunction(
            self,
            "Handler",
            name="voice_turn",
            description="One phone-call turn: the Lex V2 code hook running the conversation engine",
            layers=layers,
            key=resources.key,
            log_retention_days=log_retention_days,
            timeout=VOICE_TURN_TIMEOUT,
            reserved_concurrency=VOICE_TURN_CONCURRENCY,
            environment=resources.environment(),
        )
        resources.grant(self.handler)
        cdk.Validations.of(self.handler.function).acknowledge(
            cdk.Acknowledgment(
                id="HIPAA.Security-LambdaDLQ",
                reason="Lex V2 invokes the code hook synchronously and waits for its answer; a DLQ only "
                "receives failed asynchronous invocations, and a failed turn is answered at once by the "
                "contact flow's apology and transfer to the front desk.",
            )
        )

    @property
    def function(self) -> lambda_.IFunction:
        return self.handler.function
