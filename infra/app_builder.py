"""Build the Careline CDK app from a practice config; `app.py` and the infra tests share it."""

from __future__ import annotations

import os
from pathlib import Path

import aws_cdk as cdk
from careline.config import load_practice_config
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks

from infra.layers import REPO_ROOT
from infra.stack import CarelineStack

DEFAULT_CONFIG_PATH = REPO_ROOT / "config" / "practice.yaml"


def config_path_from_env() -> Path:
    """`CARELINE_CONFIG` if set, else `config/practice.yaml` in the repository."""
    return Path(os.environ.get("CARELINE_CONFIG") or DEFAULT_CONFIG_PATH)


def build_app(config_path: Path, outdir: Path | None = None) -> tuple[cdk.App, CarelineStack]:
    """Build the app with cdk-nag (HIPAA.Security, AwsSolutions) attached; the caller synthesizes.

    With `outdir` None the CDK CLI's output directory (or `cdk.out`) is used. Nothing here calls
    AWS: the account and region come from the config's `deployment` section.
    """
    config = load_practice_config(config_path)
    app = cdk.App(outdir=str(outdir) if outdir is not None else None)
    stack = CarelineStack(app, config=config, config_path=config_path)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), HIPAASecurityChecks(app))
    return app, stack
