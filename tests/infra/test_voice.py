"""The Lex V2 voice bot: compiled from the bot model, versioned, aliased, least-privilege, nag/lint clean.

The bot is synthesized here in a stack of its own in us-west-2 (the sample practice's region), with
both cdk-nag packs attached; the stack's phone line (code hook, Connect) is in test_contact_center.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks
from cfnlint.api import ManualArgs, lint_file  # type: ignore[import-untyped]

from infra.bot_model import LexIntent, clean_utterance, compile_intents, load_bot_model
from infra.data import EncryptionKey
from infra.voice import ALIAS_NAME, VoiceBot
from tests.infra.synthesis import ACCOUNT, Synthesized, arn_of, nag_findings, ref, synthesize_app

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]

LEX_REGION = "us-west-2"
CFN_LINT_IGNORED = ["W3005"]


def _synthesize(outdir: Path, **voice: Any) -> Synthesized:
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "VoiceProbe", env=cdk.Environment(account=ACCOUNT, region=LEX_REGION))
    key = EncryptionKey(stack, "Encryption").key
    VoiceBot(stack, "Voice", key=key, **voice)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), HIPAASecurityChecks(app))
    return synthesize_app(app, stack, outdir, config_path=outdir)


@pytest.fixture(scope="module")
def voice(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The bot alone, as an SMS-only stack builds it: no code hook Lambda, no conversation logs."""
    return _synthesize(tmp_path_factory.mktemp("voice"))


def _expected_intents() -> tuple[LexIntent, ...]:
    return compile_intents(load_bot_model())


def _bot(synth: Synthesized) -> dict[str, Any]:
    _, bot = synth.only("AWS::Lex::Bot")
    properties: dict[str, Any] = bot["Properties"]
    return properties


def test_bot_has_exactly_the_model_intents_plus_the_fallback(voice: Synthesized) -> None:
    (locale,) = _bot(voice)["BotLocales"]
    assert locale["LocaleId"] == "en_US"
    names = [intent["Name"] for intent in locale["Intents"]]
    assert names == [*(i.name for i in _expected_intents()), "FallbackIntent"]
    fallback = locale["Intents"][-1]
    assert fallback["ParentIntentSignature"] == "AMAZON.FallbackIntent"
    assert "SampleUtterances" not in fallback
    assert fallback["FulfillmentCodeHook"] == {"Enabled": True}


def test_each_intent_has_the_cleaned_model_utterances_and_both_code_hooks(voice: Synthesized) -> None:
    (locale,) = _bot(voice)["BotLocales"]
    by_name = {intent["Name"]: intent for intent in locale["Intents"]}
    for expected in _expected_intents():
        intent = by_name[expected.name]
        assert [u["Utterance"] for u in intent["SampleUtterances"]] == list(expected.utterances)
        assert intent["Description"] == expected.description
        assert intent["DialogCodeHook"] == {"Enabled": True}
        assert intent["FulfillmentCodeHook"] == {"Enabled": True}
    every = [u["Utterance"] for intent in locale["Intents"] for u in intent.get("SampleUtterances", [])]
    assert len(every) == len(set(every)), "Lex needs sample utterances unique across the locale"
    assert "c" not in every


def test_bot_settings(voice: Synthesized) -> None:
    bot = _bot(voice)
    assert bot["DataPrivacy"] == {"ChildDirected": False}
    assert bot["IdleSessionTTLInSeconds"] == 300
    assert bot["AutoBuildBotLocales"] is True
    assert bot["BotLocales"][0]["NluConfidenceThreshold"] == 0.4
    assert bot["RoleArn"] == arn_of(voice.only("AWS::IAM::Role")[0])
    assert bot["Name"] == "VoiceProbe-voice"


def test_alias_points_at_the_version_built_from_the_draft(voice: Synthesized) -> None:
    bot_id, _ = voice.only("AWS::Lex::Bot")
    version_id, version = voice.only("AWS::Lex::BotVersion")
    _, alias = voice.only("AWS::Lex::BotAlias")
    assert version["Properties"]["BotId"] == {"Fn::GetAtt": [bot_id, "Id"]}
    assert version["Properties"]["BotVersionLocaleSpecification"] == [
        {"LocaleId": "en_US", "BotVersionLocaleDetails": {"SourceBotVersion": "DRAFT"}}
    ]
    props = alias["Properties"]
    assert props["BotAliasName"] == ALIAS_NAME
    assert props["BotId"] == {"Fn::GetAtt": [bot_id, "Id"]}
    assert props["BotVersion"] == {"Fn::GetAtt": [version_id, "BotVersion"]}
    # No code hook Lambda yet: the locale is enabled and names none.
    assert props["BotAliasLocaleSettings"] == [
        {"LocaleId": "en_US", "BotAliasLocaleSetting": {"Enabled": True}}
    ]
    assert "ConversationLogSettings" not in props


def test_lex_role_is_assumed_by_lex_for_this_account_and_may_only_synthesize_speech(
    voice: Synthesized,
) -> None:
    role_id, role = voice.only("AWS::IAM::Role")
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
            "Effect": "Allow",
            "Principal": {"Service": "lexv2.amazonaws.com"},
        }
    ]
    assert "Policies" not in role["Properties"]
    assert "ManagedPolicyArns" not in role["Properties"]
    _, policy = voice.only("AWS::IAM::ManagedPolicy")
    assert policy["Properties"]["Roles"] == [ref(role_id)]
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {"Action": "polly:SynthesizeSpeech", "Effect": "Allow", "Resource": "*"}
    ]
    assert not voice.resources("AWS::IAM::Policy")


def test_conversation_logs_and_code_hook_when_configured(tmp_path: Path) -> None:
    app_dir = tmp_path / "out"
    stack_app = cdk.App(outdir=str(app_dir))
    stack = cdk.Stack(stack_app, "VoiceHook", env=cdk.Environment(account=ACCOUNT, region=LEX_REGION))
    key = EncryptionKey(stack, "Encryption").key
    hook = lambda_.Function(
        stack,
        "Hook",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"),
    )
    VoiceBot(stack, "Voice", key=key, code_hook=hook, text_log_retention_days=30)
    template = stack_app.synth().get_stack_by_name("VoiceHook").template
    resources = template["Resources"]

    def only(resource_type: str) -> tuple[str, dict[str, Any]]:
        (found,) = [(k, v) for k, v in resources.items() if v["Type"] == resource_type]
        return found

    (log_group_id,) = [
        k
        for k, v in resources.items()
        if v["Type"] == "AWS::Logs::LogGroup" and k.startswith("VoiceConversationLogs")
    ]
    log_group = resources[log_group_id]["Properties"]
    assert log_group["KmsKeyId"] == arn_of(only("AWS::KMS::Key")[0])
    assert log_group["RetentionInDays"] == 30
    (policy,) = [
        v for k, v in resources.items() if v["Type"] == "AWS::IAM::ManagedPolicy" and k.startswith("Voice")
    ]
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {"Action": "polly:SynthesizeSpeech", "Effect": "Allow", "Resource": "*"},
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": arn_of(log_group_id),
        },
    ]
    alias_id, alias = only("AWS::Lex::BotAlias")
    hook_id, _ = only("AWS::Lambda::Function")
    assert alias["Properties"]["BotAliasLocaleSettings"] == [
        {
            "LocaleId": "en_US",
            "BotAliasLocaleSetting": {
                "Enabled": True,
                "CodeHookSpecification": {
                    "LambdaCodeHook": {"CodeHookInterfaceVersion": "1.0", "LambdaArn": arn_of(hook_id)}
                },
            },
        }
    ]
    assert alias["Properties"]["ConversationLogSettings"] == {
        "TextLogSettings": [
            {
                "Enabled": True,
                "Destination": {
                    "CloudWatch": {"CloudWatchLogGroupArn": arn_of(log_group_id), "LogPrefix": "live/"}
                },
            }
        ]
    }
    _, permission = only("AWS::Lambda::Permission")
    assert permission["Properties"] == {
        "Action": "lambda:InvokeFunction",
        "FunctionName": arn_of(hook_id),
        "Principal": "lexv2.amazonaws.com",
        "SourceAccount": ACCOUNT,
        "SourceArn": arn_of(alias_id),
    }


def test_cdk_nag_reports_nothing_unacknowledged_for_the_bot(voice: Synthesized) -> None:
    assert nag_findings(voice.outdir) == []
    assert voice.validation_error is None


def test_cfn_lint_passes_for_the_bot(voice: Synthesized) -> None:
    template = voice.outdir / f"{voice.stack.artifact_id}.template.json"
    matches = lint_file(template, ManualArgs(regions=[LEX_REGION], ignore_checks=CFN_LINT_IGNORED))
    assert [f"{m.rule.id} {m.message} (line {m.linenumber})" for m in matches] == []


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("I'd like to BOOK an appointment!", "i'd like to book an appointment"),
        ("can you call me back?  thanks.", "can you call me back thanks"),
        ("it\u2019s about my bill, $40", "it's about my bill 40"),
        ("follow-up visit (next week)", "follow up visit next week"),
        ("'quoted' words", "quoted words"),
        ("hi", "hi"),
        ("c", None),
        ("?!", None),
        ("   ", None),
        ("x" * 501, None),
        ("a" + " b" * 249, "a" + " b" * 249),
    ],
)
def test_clean_utterance(raw: str, cleaned: str | None) -> None:
    assert clean_utterance(raw) == cleaned


def test_clean_utterance_keeps_known_slot_references_and_drops_unknown_ones() -> None:
    assert (
        clean_utterance("Book me on {visitDate}, please", slots={"visitDate"})
        == "book me on {visitDate} please"
    )
    assert clean_utterance("book me on {visitDate}") is None


def test_compile_drops_one_letter_and_cross_intent_duplicates_first_intent_wins() -> None:
    model = load_bot_model()
    model["intents"]["appointment_book"]["utterances"] = ["Book it!", "c", "book it", "see you then"]
    intents = {i.name: i for i in compile_intents(model)}
    assert intents["appointment_book"].utterances == ("book it", "see you then")
    assert "see you then" not in intents["appointment_confirm"].utterances
    assert "c" not in intents["appointment_confirm"].utterances


def test_compile_rejects_a_model_that_differs_from_the_label_set() -> None:
    model = load_bot_model()
    model["intents"]["new_intent"] = {"utterances": ["hello there"]}
    with pytest.raises(ValueError, match="label set"):
        compile_intents(model)
