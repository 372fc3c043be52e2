"""The SMS channel on AWS End User Messaging (`AWS::SMSVOICE::*`).

Inbound: the practice number (new, or brought by config) publishes two-way SMS to a KMS-encrypted
SNS topic. Outbound: `sms-voice:SendTextMessage` from that origination identity through the
configuration set, nothing else.
"""

from __future__ import annotations

import re

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_smsvoice as smsvoice
from aws_cdk import aws_sns as sns
from careline.config import PracticeConfig
from constructs import Construct

# An origination identity given by id: `phone-…` (a number) or `pool-…` (a pool).
_IDENTITY_ID = re.compile(r"^(phone|pool)-[0-9a-zA-Z]+$")
_IDENTITY_ARN = re.compile(r"^arn:aws[a-z-]*:sms-voice:[a-z0-9-]+:\d{12}:(phone-number|pool)/[0-9a-zA-Z-]+$")


def display_phone(e164: str) -> str:
    """`+15035550100` as `(503) 555-0100`; other numbers stay in E.164."""
    if re.fullmatch(r"\+1\d{10}", e164):
        return f"({e164[2:5]}) {e164[5:8]}-{e164[8:]}"
    return e164


def help_reply(practice_name: str, practice_phone: str) -> str:
    return (
        f"{practice_name}: call {display_phone(practice_phone)} for help. "
        "Msg & data rates may apply. Reply STOP to opt out."
    )


def stop_reply(practice_name: str, practice_phone: str) -> str:
    return (
        f"{practice_name}: you will get no more texts from us. Reply START to get texts again. "
        f"Need us? Call {display_phone(practice_phone)}."
    )


def origination_identity_arn(identity: str, stack: cdk.Stack) -> str:
    """The ARN of a brought origination identity given as an ARN or a `phone-…`/`pool-…` id.

    Raises ValueError naming the config key, because IAM can only scope sends to an ARN.
    """
    if _IDENTITY_ARN.match(identity):
        return identity
    match = _IDENTITY_ID.match(identity)
    if not match:
        raise ValueError(
            "deployment.sms.existing_origination_identity: expected an End User Messaging phone "
            f"number or pool ARN, or its id (phone-… / pool-…), got {identity!r}"
        )
    resource = "phone-number" if match.group(1) == "phone" else "pool"
    return stack.format_arn(service="sms-voice", resource=resource, resource_name=identity)


class SmsChannel(Construct):
    """Inbound topic, opt-out list, configuration set and (unless brought) the practice number."""

    def __init__(self, scope: Construct, construct_id: str, *, config: PracticeConfig, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        practice = config.practice
        sms = config.deployment.sms

        self.inbound_topic = sns.Topic(
            self,
            "InboundTopic",
            display_name=f"{practice.name} inbound SMS",
            master_key=key,
            enforce_ssl=True,
        )
        self.inbound_topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EndUserMessagingPublishesInboundSms",
                principals=[iam.ServicePrincipal("sms-voice.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.inbound_topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )

        self.opt_out_list = smsvoice.CfnOptOutList(self, "OptOutList")
        self.configuration_set = smsvoice.CfnConfigurationSet(self, "ConfigurationSet")

        self.phone_number: smsvoice.CfnPhoneNumber | None = None
        if sms.existing_origination_identity:
            self.origination_identity = sms.existing_origination_identity
            self.origination_identity_arn = origination_identity_arn(sms.existing_origination_identity, stack)
        else:
            self.phone_number = smsvoice.CfnPhoneNumber(
                self,
                "PhoneNumber",
                iso_country_code=sms.new_number.iso_country_code,
                number_type=sms.new_number.number_type,
                number_capabilities=["SMS"],
                mandatory_keywords=smsvoice.CfnPhoneNumber.MandatoryKeywordsProperty(
                    help=smsvoice.CfnPhoneNumber.MandatoryKeywordProperty(
                        message=help_reply(practice.name, practice.phone)
                    ),
                    stop=smsvoice.CfnPhoneNumber.MandatoryKeywordProperty(
                        message=stop_reply(practice.name, practice.phone)
                    ),
                ),
                opt_out_list_name=self.opt_out_list.ref,
                # Careline answers HELP/STOP/START itself, once, and keeps the opt-out state in
                # its own store (docs/decisions/0003); End User Messaging must not answer too.
                self_managed_opt_outs_enabled=True,
                two_way=smsvoice.CfnPhoneNumber.TwoWayProperty(
                    enabled=True, channel_arn=self.inbound_topic.topic_arn
                ),
                deletion_protection_enabled=True,
            )
            # Releasing a number loses it for good (and its carrier registration); keep it.
            self.phone_number.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
            self.origination_identity = self.phone_number.attr_arn
            self.origination_identity_arn = self.phone_number.attr_arn

        cdk.CfnOutput(
            self,
            "InboundTopicArn",
            value=self.inbound_topic.topic_arn,
            description="Two-way SMS destination; point a brought number at it (docs/decisions/0003)",
        )
        cdk.CfnOutput(self, "OriginationIdentity", value=self.origination_identity)

    @property
    def configuration_set_name(self) -> str:
        return self.configuration_set.ref

    @property
    def send_resources(self) -> list[str]:
        """What `sms-voice:SendTextMessage` may name: the practice identity and configuration set."""
        return [self.origination_identity_arn, self.configuration_set.attr_arn]
