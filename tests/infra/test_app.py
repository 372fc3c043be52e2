"""`python app.py` synthesizes offline, with no AWS credentials and no way to reach AWS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.layers import REPO_ROOT
from tests.infra.synthesis import STACK_NAME, Synthesized, write_practice_config

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]


def test_app_synthesizes_with_no_credentials_and_no_network(synth: Synthesized, tmp_path: Path) -> None:
    # `synth` first: the dependency layer is then cached and the app needs no package index either.
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update(
        {
            "AWS_EC2_METADATA_DISABLED": "true",
            # Any HTTP(S) call (STS, the metadata service, a package index) would hit a closed port.
            "HTTP_PROXY": "http://127.0.0.1:9",
            "HTTPS_PROXY": "http://127.0.0.1:9",
            "NO_PROXY": "",
            "CARELINE_CONFIG": str(synth.config_path),
            "CDK_OUTDIR": str(tmp_path / "cdk.out"),
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        }
    )
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr
    template = json.loads((tmp_path / "cdk.out" / f"{STACK_NAME}.template.json").read_text())
    assert template["Resources"] == synth.template_json["Resources"]


def test_app_refuses_an_invalid_config_naming_the_bad_key(tmp_path: Path) -> None:
    bad = write_practice_config(tmp_path / "practice.yaml", account="nope")
    env = {**os.environ, "CARELINE_CONFIG": str(bad), "CDK_OUTDIR": str(tmp_path / "out")}
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "deployment.account" in result.stderr
