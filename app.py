#!/usr/bin/env python3
"""The Careline CDK app: one stack for the practice in `CARELINE_CONFIG` (default
`config/practice.yaml`). Synthesizes offline: no credentials, no STS."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from careline.errors import ConfigError

from infra.app_builder import build_app, config_path_from_env
from infra.layers import REPO_ROOT


def main() -> int:
    try:
        # The CDK CLI names its output directory; run directly, the app writes to cdk.out.
        outdir = Path(os.environ.get("CDK_OUTDIR") or REPO_ROOT / "cdk.out")
        app, _ = build_app(config_path_from_env(), outdir)
    except (ConfigError, ValueError) as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    try:
        app.synth()
    except RuntimeError as exc:
        # cdk-nag findings: the report is already printed above; skip the jsii traceback.
        if "ValidationFailed" not in str(exc):
            raise
        sys.stderr.write(f"{exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
