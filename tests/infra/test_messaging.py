"""The SMS channel on AWS End User Messaging: number, opt-out list, configuration set, inbound topic."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match

from infra.messaging import display_phone, origination_identity_arn
from tests.infra.synthesis import ACCOUNT, BROUGHT_POOL_ID, REGION, Synthesized, arn_of, ref

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]


def test_inbound_topic_is_encrypted_with_the_cmk(synth: Synthesized) -> None:
    key_id, _ = synth.only("AWS::KMS::Key")
    topic_id = _inbound_topic_id(synth)
    assert synth.template_json["Resources"][topic_id]["Properties"]["KmsMasterKeyId"] == arn_of(key_id)


def test_inbound_topic_lets_only_this_accounts_end_user_messaging_publish_over_tls(
    synth: Synthesized,
) -> None:
    topic_id = _inbound_topic_id(synth)
    synth.template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "Topics": [ref(topic_id)],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "AllowPublishThroughSSLOnly",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "sns:Publish",
                        "Resource": ref(topic_id),
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    },
                    {
                        "Sid": "EndUserMessagingPublishesInboundSms",
                        "Effect": "Allow",
                        "Principal": {"Service": "sms-voice.amazonaws.com"},
                        "Action": "sns:Publish",
                        "Resource": ref(topic_id),
                        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
                    },
                ],
            },
        },
    )


def test_new_number_is_two_way_to_the_inbound_topic_with_the_opt_out_list(synth: Synthesized) -> None:
    opt_out_list_id, _ = synth.only("AWS::SMSVOICE::OptOutList")
    synth.template.has_resource(
        "AWS::SMSVOICE::PhoneNumber",
        {
            "DeletionPolicy": "Retain",
            "Properties": Match.object_like(
                {
                    "IsoCountryCode": "US",
                    "NumberType": "TOLL_FREE",
                    "NumberCapabilities": ["SMS"],
                    "OptOutListName": ref(opt_out_list_id),
                    "SelfManagedOptOutsEnabled": True,
                    "DeletionProtectionEnabled": True,
                    "TwoWay": {"Enabled": True, "ChannelArn": ref(_inbound_topic_id(synth))},
                }
            ),
        },
    )


def test_mandatory_keyword_replies_name_the_practice_and_its_number(synth: Synthesized) -> None:
    _, number = synth.only("AWS::SMSVOICE::PhoneNumber")
    keywords = number["Properties"]["MandatoryKeywords"]
    assert keywords == {
        "HELP": {
            "Message": "Riverbend Family Medicine: call (503) 555-0100 for help. "
            "Msg & data rates may apply. Reply STOP to opt out."
        },
        "STOP": {
            "Message": "Riverbend Family Medicine: you will get no more texts from us. "
            "Reply START to get texts again. Need us? Call (503) 555-0100."
        },
    }


def test_configuration_set_exists_for_outbound_sms(synth: Synthesized) -> None:
    synth.template.resource_count_is("AWS::SMSVOICE::ConfigurationSet", 1)


def test_a_brought_pool_creates_no_number_and_is_the_origination_identity(
    synth_brought_number: Synthesized,
) -> None:
    synth = synth_brought_number
    synth.template.resource_count_is("AWS::SMSVOICE::PhoneNumber", 0)
    synth.template.resource_count_is("AWS::SMSVOICE::Pool", 0)
    synth.template.resource_count_is("AWS::SMSVOICE::ConfigurationSet", 1)
    synth.template.has_resource_properties(
        "AWS::Lambda::Function",
        {"Environment": {"Variables": Match.object_like({"CARELINE_ORIGINATION_IDENTITY": BROUGHT_POOL_ID})}},
    )


def test_stack_outputs_the_inbound_topic_for_pointing_a_brought_number_at_it(
    synth_brought_number: Synthesized,
) -> None:
    topic_id = _inbound_topic_id(synth_brought_number)
    outputs = synth_brought_number.template_json["Outputs"]
    assert [o["Value"] for name, o in outputs.items() if name.startswith("SmsInboundTopicArn")] == [
        ref(topic_id)
    ]


@pytest.mark.parametrize(
    ("identity", "resource"),
    [("pool-abc123", "pool/pool-abc123"), ("phone-abc123", "phone-number/phone-abc123")],
)
def test_a_brought_identity_id_becomes_the_arn_sends_are_scoped_to(identity: str, resource: str) -> None:
    stack = cdk.Stack(env=cdk.Environment(account=ACCOUNT, region=REGION))
    arn = stack.resolve(origination_identity_arn(identity, stack))
    assert arn == {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":sms-voice:{REGION}:{ACCOUNT}:{resource}"]]
    }


def test_a_brought_identity_arn_is_used_as_given() -> None:
    stack = cdk.Stack(env=cdk.Environment(account=ACCOUNT, region=REGION))
    arn = f"arn:aws:sms-voice:{REGION}:{ACCOUNT}:phone-number/phone-abc123"
    assert origination_identity_arn(arn, stack) == arn


def test_a_brought_identity_that_is_a_bare_phone_number_is_refused_naming_the_key() -> None:
    stack = cdk.Stack(env=cdk.Environment(account=ACCOUNT, region=REGION))
    with pytest.raises(ValueError, match=r"deployment\.sms\.existing_origination_identity"):
        origination_identity_arn("+15035550100", stack)


def test_us_numbers_are_shown_the_way_patients_dial_them() -> None:
    assert display_phone("+15035550100") == "(503) 555-0100"
    assert display_phone("+442071838750") == "+442071838750"


def _inbound_topic_id(synth: Synthesized) -> str:
    (topic_id,) = [name for name in synth.resources("AWS::SNS::Topic") if name.startswith("SmsInboundTopic")]
    return topic_id
