"""Compliance gates on the synthesized app: cdk-nag (HIPAA.Security, AwsSolutions), cfn-lint, no Pinpoint."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sns as sns
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks
from cfnlint.api import ManualArgs, lint_file  # type: ignore[import-untyped]

from tests.infra.synthesis import REGION, Synthesized, nag_findings

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]

# CDK itself adds `DependsOn` on a function's role next to the `GetAtt` that already implies it.
CFN_LINT_IGNORED = ["W3005"]


@pytest.mark.parametrize("variant", ["synth", "synth_phone_line", "synth_brought_number"])
def test_cdk_nag_reports_no_unacknowledged_finding(variant: str, request: pytest.FixtureRequest) -> None:
    synthesized: Synthesized = request.getfixturevalue(variant)
    assert nag_findings(synthesized.outdir) == []
    assert synthesized.validation_error is None


def test_every_acknowledgment_names_one_finding_and_a_real_reason(synth_phone_line: Synthesized) -> None:
    synth = synth_phone_line
    metadata = json.loads((synth.outdir / f"{synth.stack.artifact_id}.metadata.json").read_text())
    acknowledged = [
        (path, rule, reason)
        for path, entries in metadata.items()
        for entry in entries
        if entry["type"] == "aws:cdk:acknowledged-rules"
        for rule, reason in entry["data"].items()
    ]
    assert acknowledged, "expected the documented acknowledgments (see docs/decisions/0002)"
    for path, rule, reason in acknowledged:
        assert path != f"/{synth.stack.artifact_id}", f"{rule} is acknowledged for the whole stack"
        assert len(reason) >= 60, f"{rule} at {path} needs a real reason, got {reason!r}"
    # Three Careline functions (sms_inbound, voice_turn, voice_contact), the Lex role, the party-id
    # secret, and CDK's AWS SDK custom resource provider (the phone number's contact flow).
    # The agent panel: its function (agent_api, synchronous: no DLQ), the page method (GET /, no
    # authorizer) and the API stage.
    agent_panel = [
        "AwsSolutions-IAM5[Resource::*]",  # agent_api's policy (X-Ray)
        "AwsSolutions-L1",
        "HIPAA.Security-LambdaInsideVPC",
        "HIPAA.Security-LambdaDLQ",
        "AwsSolutions-APIG4",
        "AwsSolutions-COG4",
        "AwsSolutions-APIG3",
        "AwsSolutions-APIG6",
        "HIPAA.Security-APIGWCacheEnabledAndEncrypted",
        "HIPAA.Security-APIGWExecutionLoggingEnabled",
        "HIPAA.Security-APIGWSSLEnabled",
    ]
    # The escalation workflow: six functions (five synchronous state machine steps: no DLQ), the
    # state machine's log delivery and X-Ray, the task function's per-contact Connect grant, and
    # the workflow failure queue (itself the dead-letter store).
    escalation_workflow = [
        *["AwsSolutions-IAM5[Resource::*]"] * 6,
        *["AwsSolutions-L1"] * 6,
        *["HIPAA.Security-LambdaInsideVPC"] * 6,
        *["HIPAA.Security-LambdaDLQ"] * 5,
        "AwsSolutions-IAM5[Resource::*]",
        "AwsSolutions-IAM5[Resource::<ContactCenterInstanceC369C35F.Arn>/contact/*]",
        "AwsSolutions-SQS3",
    ]
    # Reminders: four functions (the plan, a state machine task, and the sender, a queue consumer,
    # are synchronous: no DLQ), the campaign state machine's log delivery and X-Ray, and the job
    # failure queue (itself the schedules' and scheduled functions' dead-letter store).
    reminders = [
        *["AwsSolutions-IAM5[Resource::*]"] * 4,
        *["AwsSolutions-L1"] * 4,
        *["HIPAA.Security-LambdaInsideVPC"] * 4,
        *["HIPAA.Security-LambdaDLQ"] * 2,
        "AwsSolutions-IAM5[Resource::*]",
        "AwsSolutions-SQS3",
    ]
    assert sorted(rule.removeprefix("Annotation::") for _, rule, _ in acknowledged) == sorted(
        [
            *["AwsSolutions-IAM5[Resource::*]"] * 4,
            *["AwsSolutions-L1"] * 3,
            *["HIPAA.Security-LambdaInsideVPC"] * 4,
            *["HIPAA.Security-LambdaDLQ"] * 3,
            "AwsSolutions-SMG4",
            "HIPAA.Security-SecretsManagerRotationEnabled",
            *agent_panel,
            *escalation_workflow,
            *reminders,
        ]
    )


def test_the_nag_gate_catches_a_non_compliant_resource(tmp_path: Path) -> None:
    # Proves the collector and both packs are live: a plain topic must be reported by each.
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Probe", env=cdk.Environment(account="111122223333", region=REGION))
    sns.Topic(stack, "PlainTopic")
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), HIPAASecurityChecks(app))
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    findings = nag_findings(tmp_path)
    assert any("AwsSolutions-SNS3" in f and "Probe/PlainTopic" in f for f in findings), findings
    assert any("HIPAA.Security-SNSEncryptedKMS" in f for f in findings), findings


@pytest.mark.parametrize("variant", ["synth", "synth_phone_line", "synth_brought_number"])
def test_cfn_lint_passes(variant: str, request: pytest.FixtureRequest) -> None:
    synthesized: Synthesized = request.getfixturevalue(variant)
    template = synthesized.outdir / f"{synthesized.stack.artifact_id}.template.json"
    matches = lint_file(template, ManualArgs(regions=[REGION], ignore_checks=CFN_LINT_IGNORED))
    assert [f"{m.rule.id} {m.message} (line {m.linenumber})" for m in matches] == []


@pytest.mark.parametrize("variant", ["synth", "synth_phone_line", "synth_brought_number"])
def test_no_pinpoint_resource_anywhere(variant: str, request: pytest.FixtureRequest) -> None:
    synthesized: Synthesized = request.getfixturevalue(variant)
    types = {r["Type"] for r in synthesized.template_json["Resources"].values()}
    assert not [t for t in types if t.startswith("AWS::Pinpoint")]
    assert "AWS::SMSVOICE::ConfigurationSet" in types
