"""Amazon Connect for the phone line: the instance (or the practice's own), its hours, queues and
routing profiles, the phone number, the inbound contact flow, and `functions/voice_contact`, which
the flow calls once as a call arrives.

The conversation itself is the Lex V2 bot and its code hook (`infra/voice.py`); this module hands
the call to it and, when the engine asks for a person, to the queue the engine chose.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import aws_cdk as cdk
from aws_cdk import aws_connect as connect
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lex as lex
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from careline.channels.voice import to_ssml
from careline.config import PracticeConfig, WeeklyHours
from careline.conversation.model import Channel, Queue
from careline.messages import MESSAGE_PLACEHOLDERS
from careline.practice.hours import DayHours, PracticeCalendar
from constructs import Construct

from infra.contact_flow import FlowTargets, inbound_flow
from infra.function import CarelineFunction, log_retention
from infra.layers import CarelineLayers
from infra.voice import VoiceBot

# Every name the stack gives a Connect resource starts with this, so Careline's queues, hours and
# flows stand apart from anything else in a practice's existing instance.
NAME_PREFIX = "Careline"
# Connect weekdays, in `date.weekday()` order.
CONNECT_DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
# Connect's quota of overrides per hours of operation (not adjustable).
MAX_HOURS_OVERRIDES = 50
# Holidays and closures are written for the current calendar year and the next: any deploy in a
# new year rolls the window forward.
OVERRIDE_YEARS = 2

# The greeting is one config read: Connect allows 8 s, the flow waits 3.
VOICE_CONTACT_TIMEOUT = cdk.Duration.seconds(3)
# One invocation per arriving call, a few milliseconds each.
VOICE_CONTACT_CONCURRENCY = 5
# The deploy-time custom resource that points the number at the flow: one call per deployment.
NUMBER_FLOW_CONCURRENCY = 1
# What an agent handles at once: one call, and a few text escalations (tasks) beside it.
VOICE_CONCURRENCY = 1
TASK_CONCURRENCY = 3


@dataclass(frozen=True)
class AgentProfile:
    """A routing profile: the queues its agents take calls from, most urgent first, and the queue
    their own outbound calls would belong to."""

    name: str
    home_queue: Queue
    queues: tuple[Queue, ...]


# Crisis calls come first for everyone who may answer them; on-call staff answer nothing else.
AGENT_PROFILES = (
    AgentProfile("Front desk", Queue.FRONT_DESK, (Queue.CRISIS, Queue.FRONT_DESK, Queue.BILLING)),
    AgentProfile("Nurse", Queue.NURSE, (Queue.CRISIS, Queue.NURSE)),
    AgentProfile("On call", Queue.CRISIS, (Queue.CRISIS,)),
)


def spoken(config: PracticeConfig, key: str) -> str:
    """The voice wording of catalog message `key`. The flow's words are fixed when the stack is
    synthesized, so only a message that needs no per-call value can be one of them."""
    if MESSAGE_PLACEHOLDERS[key]:
        raise ValueError(f"message {key!r} needs per-call values; the flow cannot speak it")
    return config.catalog.render(key, Channel.VOICE)


def weekly_config(weekly: WeeklyHours) -> list[connect.CfnHoursOfOperation.HoursOfOperationConfigProperty]:
    """One entry per open weekday, local time; a closed day has none (Connect treats it as closed)."""
    entries = []
    for weekday, day in enumerate(CONNECT_DAYS):
        interval = weekly.for_weekday(weekday)
        if interval is None:
            continue
        entries.append(
            connect.CfnHoursOfOperation.HoursOfOperationConfigProperty(
                day=day,
                start_time=connect.CfnHoursOfOperation.HoursOfOperationTimeSliceProperty(
                    hours=interval.opens.hour, minutes=interval.opens.minute
                ),
                end_time=connect.CfnHoursOfOperation.HoursOfOperationTimeSliceProperty(
                    hours=interval.closes.hour, minutes=interval.closes.minute
                ),
            )
        )
    return entries


def always_open_config() -> list[connect.CfnHoursOfOperation.HoursOfOperationConfigProperty]:
    """Every day from midnight to midnight: Connect's 24x7."""
    midnight = connect.CfnHoursOfOperation.HoursOfOperationTimeSliceProperty(hours=0, minutes=0)
    return [
        connect.CfnHoursOfOperation.HoursOfOperationConfigProperty(
            day=day, start_time=midnight, end_time=midnight
        )
        for day in CONNECT_DAYS
    ]


def exceptional_days(config: PracticeConfig, weekly: WeeklyHours, years: Iterable[int]) -> list[DayHours]:
    """The days of `years` whose hours differ from `weekly` (a holiday the practice closes on, a
    closure, a short day), as the conversation engine's own calendar has them; at most Connect's
    quota of overrides, earliest first."""
    calendar = PracticeCalendar(config, weekly=weekly)
    days: list[DayHours] = []
    for year in years:
        day = date(year, 1, 1)
        while day.year == year:
            hours = calendar.hours_on(day)
            if hours.reason is not None and hours.interval != weekly.for_weekday(day.weekday()):
                days.append(hours)
            day += timedelta(days=1)
    return days[:MAX_HOURS_OVERRIDES]


def _override(hours: DayHours) -> connect.CfnHoursOfOperation.HoursOfOperationOverrideProperty:
    # A standard override replaces the day's hours: none listed is closed all day.
    slices = []
    if hours.interval is not None:
        slices.append(
            connect.CfnHoursOfOperation.HoursOfOperationOverrideConfigProperty(
                day=CONNECT_DAYS[hours.day.weekday()],
                start_time=connect.CfnHoursOfOperation.OverrideTimeSliceProperty(
                    hours=hours.interval.opens.hour, minutes=hours.interval.opens.minute
                ),
                end_time=connect.CfnHoursOfOperation.OverrideTimeSliceProperty(
                    hours=hours.interval.closes.hour, minutes=hours.interval.closes.minute
                ),
            )
        )
    reason = hours.reason or "closed"
    return connect.CfnHoursOfOperation.HoursOfOperationOverrideProperty(
        override_name=f"{reason} {hours.day.isoformat()}"[:127],
        override_description=reason[:250],
        effective_from=hours.day.isoformat(),
        effective_till=hours.day.isoformat(),
        override_config=slices,
    )


def _display(label: str) -> str:
    return f"{NAME_PREFIX} - {label[:1].upper()}{label[1:]}"


def _id_from_arn(arn: str, index: int) -> str:
    """The `index`th `/`-separated part of an ARN, for literal ARNs and tokens alike."""
    if cdk.Token.is_unresolved(arn):
        return cdk.Fn.select(index, cdk.Fn.split("/", arn))
    return arn.split("/")[index]


class ContactCenter(Construct):
    """The practice's Amazon Connect side of the phone line, wired to `bot`.

    - the instance (CONNECT_MANAGED users, inbound calls only, no Contact Lens, no recording, so no
      storage) unless `deployment.voice.existing_instance_arn` names the practice's own;
    - hours of operation from the practice config (business hours per weekday in the practice's
      timezone, holidays and closures as overrides), one set per queue schedule, and 24x7;
    - one queue per engine queue, on its staffing hours, and routing profiles for the front desk,
      the nurses and whoever is on call;
    - `functions/voice_contact` (the greeting), the inbound contact flow, the bot and function
      associated with the instance, and the number claimed (or brought) and pointed at the flow.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PracticeConfig,
        bot: VoiceBot,
        layers: CarelineLayers,
        key: kms.IKey,
        log_retention_days: int,
        now: datetime | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        deployment = config.deployment
        voice = deployment.voice
        today = (now or datetime.now(config.tz)).astimezone(config.tz).date()

        self.instance: connect.CfnInstance | None = None
        if voice.existing_instance_arn:
            self.instance_arn = voice.existing_instance_arn
        else:
            self.instance = connect.CfnInstance(
                self,
                "Instance",
                identity_management_type="CONNECT_MANAGED",
                instance_alias=deployment.connect_instance_alias,
                attributes=connect.CfnInstance.AttributesProperty(
                    inbound_calls=True,
                    outbound_calls=False,
                    contact_lens=False,
                    contactflow_logs=voice.flow_logs,
                ),
            )
            # Agents, their sign-ins and every contact record live in the instance.
            self.instance.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
            self.instance_arn = self.instance.attr_arn
        self.instance_id = _id_from_arn(self.instance_arn, 1)

        years = range(today.year, today.year + OVERRIDE_YEARS)
        self.business_hours = self._hours(
            "BusinessHours", "Business hours", config, config.business_hours, years
        )
        self.always_open = connect.CfnHoursOfOperation(
            self,
            "AlwaysOpen",
            instance_arn=self.instance_arn,
            name=f"{NAME_PREFIX} - Always open",
            description="Careline: around the clock, every day, holidays included",
            time_zone=config.practice.timezone,
            config=always_open_config(),
        )
        self.queue_hours: dict[Queue, connect.CfnHoursOfOperation] = {}
        self.queues: dict[Queue, connect.CfnQueue] = {}
        for queue in Queue:
            queue_config = config.queue(queue)
            staffed = queue_config.staffed
            if staffed == "always":
                hours = self.always_open
            elif staffed == "business_hours":
                hours = self.business_hours
            else:
                hours = self._hours(
                    f"{_pascal(queue)}Hours", f"{queue_config.label} hours", config, staffed, years
                )
            self.queue_hours[queue] = hours
            self.queues[queue] = connect.CfnQueue(
                self,
                f"{_pascal(queue)}Queue",
                instance_arn=self.instance_arn,
                name=_display(queue_config.label),
                description=f"Careline: callers the conversation engine hands to the {queue_config.label}",
                hours_of_operation_arn=hours.attr_hours_of_operation_arn,
            )
        self.routing_profiles = {profile.name: self._routing_profile(profile) for profile in AGENT_PROFILES}

        self.greeting = CarelineFunction(
            self,
            "VoiceContact",
            name="voice_contact",
            description="A call arrives: the greeting (SSML) and whether the practice is closed",
            layers=layers,
            key=key,
            log_retention_days=log_retention_days,
            timeout=VOICE_CONTACT_TIMEOUT,
            reserved_concurrency=VOICE_CONTACT_CONCURRENCY,
            # the practice config only: it comes with the code layer (CARELINE_CONFIG_PATH)
            environment={},
        )
        cdk.Validations.of(self.greeting.function).acknowledge(
            cdk.Acknowledgment(
                id="HIPAA.Security-LambdaDLQ",
                reason="The contact flow invokes the greeting synchronously and waits for it; a DLQ only "
                "receives failed asynchronous invocations, and on a failure the flow greets the caller "
                "with the practice's plain greeting instead.",
            )
        )
        self._let_connect_use(bot, stack)

        self.flow = connect.CfnContactFlow(
            self,
            "InboundFlow",
            instance_arn=self.instance_arn,
            name=f"{NAME_PREFIX} - Inbound ({stack.stack_name})",
            description="Careline: greet, talk with the voice bot, then transfer or hang up as the "
            "engine decides",
            type="CONTACT_FLOW",
            state="ACTIVE",
            content=stack.to_json_string(
                inbound_flow(
                    FlowTargets(
                        voice_contact_function_arn=self.greeting.function.function_arn,
                        bot_alias_arn=bot.alias.attr_arn,
                        queue_arns={queue: q.attr_queue_arn for queue, q in self.queues.items()},
                        front_desk_hours_arn=self.queue_hours[Queue.FRONT_DESK].attr_hours_of_operation_arn,
                        plain_greeting_ssml=to_ssml(spoken(config, "call_greeting")),
                        trouble_text=spoken(config, "call_trouble"),
                        trouble_closed_text=spoken(config, "call_trouble_after_hours"),
                        flow_logs=voice.flow_logs,
                    )
                )
            ),
        )
        # Connect refuses a flow naming a bot or function the instance is not associated with.
        self.flow.node.add_dependency(self.bot_integration, self.greeting_integration)
        self.flow_id = _id_from_arn(self.flow.attr_contact_flow_arn, 3)

        self.phone_number: connect.CfnPhoneNumber | None = None
        if voice.existing_phone_number_arn:
            self.phone_number_arn = voice.existing_phone_number_arn
            self.phone_number_display = voice.existing_phone_number_arn
        else:
            self.phone_number = connect.CfnPhoneNumber(
                self,
                "PhoneNumber",
                target_arn=self.instance_arn,
                country_code=voice.new_number.country_code,
                type=voice.new_number.type,
                prefix=voice.new_number.prefix,
                description=f"Careline phone line for {config.practice.name}"[:500],
            )
            # Releasing a number loses it for good; patients have it saved.
            self.phone_number.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
            self.phone_number_arn = self.phone_number.attr_phone_number_arn
            self.phone_number_display = self.phone_number.attr_address
        self._point_number_at_flow(key, log_retention_days)

    # --- hours, queues, routing ----------------------------------------------------------------------

    def _hours(
        self,
        construct_id: str,
        label: str,
        config: PracticeConfig,
        weekly: WeeklyHours,
        years: Sequence[int],
    ) -> connect.CfnHoursOfOperation:
        return connect.CfnHoursOfOperation(
            self,
            construct_id,
            instance_arn=self.instance_arn,
            name=_display(label),
            description=f"Careline: {label}, with the practice's holidays and closures",
            time_zone=config.practice.timezone,
            config=weekly_config(weekly),
            hours_of_operation_overrides=[_override(day) for day in exceptional_days(config, weekly, years)],
        )

    def _routing_profile(self, profile: AgentProfile) -> connect.CfnRoutingProfile:
        return connect.CfnRoutingProfile(
            self,
            f"{profile.name.replace(' ', '')}Profile",
            instance_arn=self.instance_arn,
            name=f"{NAME_PREFIX} - {profile.name}",
            description=f"Careline: {profile.name.lower()} agents take calls from "
            + ", ".join(queue.value for queue in profile.queues),
            media_concurrencies=[
                connect.CfnRoutingProfile.MediaConcurrencyProperty(
                    channel="VOICE", concurrency=VOICE_CONCURRENCY
                ),
                # escalations by text arrive as Connect tasks (the escalation workflow)
                connect.CfnRoutingProfile.MediaConcurrencyProperty(
                    channel="TASK", concurrency=TASK_CONCURRENCY
                ),
            ],
            default_outbound_queue_arn=self.queues[profile.home_queue].attr_queue_arn,
            queue_configs=[
                connect.CfnRoutingProfile.RoutingProfileQueueConfigProperty(
                    delay=0,
                    priority=priority,
                    queue_reference=connect.CfnRoutingProfile.RoutingProfileQueueReferenceProperty(
                        channel=channel, queue_arn=self.queues[queue].attr_queue_arn
                    ),
                )
                for channel in ("VOICE", "TASK")
                for priority, queue in enumerate(profile.queues, start=1)
            ],
        )

    # --- permissions between Connect, Lex and Lambda -----------------------------------------------

    def _let_connect_use(self, bot: VoiceBot, stack: cdk.Stack) -> None:
        """The instance, and only it, may talk with the bot alias and invoke the greeting."""
        self.bot_policy = lex.CfnResourcePolicy(
            self,
            "BotAliasPolicy",
            resource_arn=bot.alias.attr_arn,
            policy={
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "ConnectInstanceTalksWithTheBot",
                        "Effect": "Allow",
                        "Principal": {"Service": "connect.amazonaws.com"},
                        "Action": ["lex:RecognizeText", "lex:StartConversation"],
                        "Resource": bot.alias.attr_arn,
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": stack.account},
                            "ArnEquals": {"aws:SourceArn": self.instance_arn},
                        },
                    }
                ],
            },
        )
        self.bot_integration = connect.CfnIntegrationAssociation(
            self,
            "BotIntegration",
            instance_id=self.instance_arn,
            integration_type="LEX_BOT",
            integration_arn=bot.alias.attr_arn,
        )
        # Associating adds Connect's own statement to the alias policy: ours must exist first.
        self.bot_integration.node.add_dependency(self.bot_policy)

        self.greeting.function.add_permission(
            "InvokedByConnectInstance",
            principal=iam.ServicePrincipal("connect.amazonaws.com"),
            source_arn=self.instance_arn,
            source_account=stack.account,
        )
        self.greeting_integration = connect.CfnIntegrationAssociation(
            self,
            "GreetingIntegration",
            instance_id=self.instance_arn,
            integration_type="LAMBDA_FUNCTION",
            integration_arn=self.greeting.function.function_arn,
        )

    # --- the number -------------------------------------------------------------------------------

    def _point_number_at_flow(self, key: kms.IKey, log_retention_days: int) -> None:
        """CloudFormation has no property for a number's contact flow; one SDK call at deploy time
        (`AssociatePhoneNumberContactFlow`) sets it, from a role that may do only that."""
        self.association_logs = logs.LogGroup(
            self,
            "NumberFlowLogs",
            retention=log_retention(log_retention_days),
            encryption_key=key,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.association_role = iam.Role(
            self,
            "NumberFlowRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="careline: point the phone number at the inbound contact flow, at deploy time",
        )
        self.association_policy = iam.ManagedPolicy(
            self,
            "NumberFlowPolicy",
            description="careline: associate the phone number with the inbound contact flow only",
            roles=[self.association_role],
            statements=[
                iam.PolicyStatement(
                    actions=["connect:AssociatePhoneNumberContactFlow"],
                    resources=[self.phone_number_arn, self.flow.attr_contact_flow_arn],
                ),
                iam.PolicyStatement(
                    actions=["connect:DisassociatePhoneNumberContactFlow"],
                    resources=[self.phone_number_arn, self.flow.attr_contact_flow_arn],
                ),
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[self.association_logs.log_group_arn],
                ),
            ],
        )
        parameters = {
            "PhoneNumberId": self.phone_number_arn,
            "InstanceId": self.instance_id,
            "ContactFlowId": self.flow_id,
        }
        associate = cr.AwsSdkCall(
            service="Connect",
            action="AssociatePhoneNumberContactFlow",
            parameters=parameters,
            # a new number is a new association: the old one is undone
            physical_resource_id=cr.PhysicalResourceId.of(self.phone_number_arn),
        )
        self.number_flow = cr.AwsCustomResource(
            self,
            "NumberFlow",
            resource_type="Custom::PhoneNumberContactFlow",
            on_create=associate,
            on_update=associate,
            on_delete=cr.AwsSdkCall(
                service="Connect",
                action="DisassociatePhoneNumberContactFlow",
                parameters={"PhoneNumberId": self.phone_number_arn, "InstanceId": self.instance_id},
                # a number already released, or already pointed elsewhere by hand
                ignore_error_codes_matching="ResourceNotFoundException",
            ),
            role=self.association_role,
            log_group=self.association_logs,
            # the SDK bundled with the Lambda runtime: nothing is downloaded at deploy or synth
            install_latest_aws_sdk=False,
            timeout=cdk.Duration.minutes(1),
            # a failed call fails the deployment in minutes, not after CloudFormation's hour
            service_timeout=cdk.Duration.minutes(5),
        )
        self.number_flow.node.add_dependency(self.association_policy)
        self._settle_provider_function()

    def _settle_provider_function(self) -> None:
        """The one Lambda function CDK shares between a stack's AWS SDK custom resources."""
        stack = cdk.Stack.of(self)
        provider_id = "AWS" + cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace("-", "")
        provider = stack.node.try_find_child(provider_id)
        assert isinstance(provider, lambda_.Function), f"no AWS SDK custom resource provider {provider_id}"
        cfn_function = provider.node.default_child
        assert isinstance(cfn_function, lambda_.CfnFunction)
        # It runs once per deployment that changes the number or the flow.
        cfn_function.reserved_concurrent_executions = NUMBER_FLOW_CONCURRENCY
        cdk.Validations.of(provider).acknowledge(
            cdk.Acknowledgment(
                id="HIPAA.Security-LambdaDLQ",
                reason="CDK's AWS SDK custom resource provider runs only during deployments, for "
                "CloudFormation, which waits for its answer and rolls the deployment back if it fails; "
                "a dead-letter queue would hold a deployment event nobody can replay.",
            ),
            cdk.Acknowledgment(
                id="HIPAA.Security-LambdaInsideVPC",
                reason="CDK's AWS SDK custom resource provider makes one Amazon Connect API call "
                "(AssociatePhoneNumberContactFlow) over TLS with SigV4 at deploy time; it reaches no VPC "
                "resource and handles no PHI (a phone number id and a flow id).",
            ),
        )


def _pascal(queue: Queue) -> str:
    return "".join(part.capitalize() for part in queue.value.split("_"))
