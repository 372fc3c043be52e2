"""Synthesize the Careline app into a directory and read back what the tests inspect."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import yaml
from aws_cdk import assertions

from infra.app_builder import build_app
from infra.layers import REPO_ROOT

ACCOUNT = "111122223333"
# a region with every service the stack uses (Amazon Lex V2 is not in us-east-2)
REGION = "us-west-2"
STACK_NAME = "CarelineTest"
BROUGHT_POOL_ID = "pool-0123456789abcdef0123456789abcdef"
ALARM_EMAIL = "oncall@riverbend.example"
EHR_SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:careline/ehr-connection-AbC123"
EHR_SECRET_KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"


@dataclass(frozen=True)
class Synthesized:
    """One synthesized app: where it went, its stack template, and whether validation failed."""

    config_path: Path
    outdir: Path
    stack: cdk.Stack
    template_json: dict[str, Any]
    template: assertions.Template
    validation_error: str | None

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.template_json["Resources"].items()
            if resource["Type"] == resource_type
        }

    def only(self, resource_type: str) -> tuple[str, dict[str, Any]]:
        found = self.resources(resource_type)
        assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
        return next(iter(found.items()))


def write_practice_config(path: Path, **deployment: Any) -> Path:
    """The sample practice with a test deployment section (fixed account, region, stack name)."""
    data = yaml.safe_load((REPO_ROOT / "config" / "practice.yaml").read_text(encoding="utf-8"))
    data["deployment"] = {
        **data.get("deployment", {}),
        "account": ACCOUNT,
        "region": REGION,
        "stack_name": STACK_NAME,
        "log_retention_days": 365,
        **deployment,
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def synthesize(config_path: Path, outdir: Path) -> Synthesized:
    app, stack = build_app(config_path, outdir)
    return synthesize_app(app, stack, outdir, config_path=config_path)


def synthesize_app(app: cdk.App, stack: cdk.Stack, outdir: Path, *, config_path: Path) -> Synthesized:
    """Synthesize `app` (its validation plugins already added) and read `stack`'s template back."""
    validation_error: str | None = None
    try:
        app.synth()
    except RuntimeError as exc:
        # cdk-nag findings fail the synth after the templates are written; the compliance tests
        # report them, every other test still checks the template.
        if "ValidationFailed" not in str(exc):
            raise
        validation_error = str(exc)
    template_json = json.loads((outdir / f"{stack.artifact_id}.template.json").read_text(encoding="utf-8"))
    return Synthesized(
        config_path=config_path,
        outdir=outdir,
        stack=stack,
        template_json=template_json,
        template=assertions.Template.from_json(template_json),
        validation_error=validation_error,
    )


def ref(logical_id: str) -> dict[str, str]:
    return {"Ref": logical_id}


def arn_of(logical_id: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def nag_findings(outdir: Path) -> list[str]:
    """Every unacknowledged cdk-nag violation (errors and warnings) and every error or warning
    annotation in the cloud assembly at `outdir`, one line each."""
    findings: list[str] = []
    report_path = outdir / "validation-report.json"
    if report_path.exists():
        report = json.loads(report_path.read_text(encoding="utf-8"))
        for plugin in report.get("pluginReports", []):
            for violation in plugin.get("violations", []):
                for construct in violation.get("violatingConstructs", []):
                    findings.append(
                        f"{violation.get('severity', '?')} {violation['ruleName']} at "
                        f"{construct['constructPath']}: {violation.get('description', '')}"
                    )
    manifest = json.loads((outdir / "manifest.json").read_text(encoding="utf-8"))
    metadata: dict[str, list[dict[str, Any]]] = {}
    for artifact in manifest.get("artifacts", {}).values():
        metadata.update(artifact.get("metadata", {}))
    for metadata_file in outdir.glob("*.metadata.json"):
        metadata.update(json.loads(metadata_file.read_text(encoding="utf-8")))
    for path, entries in metadata.items():
        for entry in entries:
            if entry.get("type") in ("aws:cdk:error", "aws:cdk:warning"):
                findings.append(f"{entry['type']} at {path}: {entry.get('data')}")
    return findings
