"""The two Lambda layers, built on the synth machine without Docker.

- code layer: `layers/careline` as `python/careline`, plus the practice config as
  `python/careline_config/practice.yaml` (functions read it at `CONFIG_PATH_IN_LAMBDA`);
- dependency layer: `requirements/lambda.txt` installed as arm64/cp312 manylinux wheels, cached
  under `build/layers/` by a hash of the requirements and the install flags.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterable
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = REPO_ROOT / "layers" / "careline"
REQUIREMENTS_FILE = REPO_ROOT / "requirements" / "lambda.txt"
BUILD_ROOT = REPO_ROOT / "build" / "layers"

CONFIG_PATH_IN_LAMBDA = "/opt/python/careline_config/practice.yaml"
RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64

# Only binary wheels for the Lambda platform: a source build here would target the synth machine.
PIP_PLATFORM_ARGS = (
    "--platform",
    "manylinux2014_aarch64",
    "--implementation",
    "cp",
    "--python-version",
    "3.12",
    "--only-binary=:all:",
)

# Shipped by the python3.12 Lambda runtime; a second copy would only add size and version skew.
# Names are import names and wheel (dist-info) names alike.
RUNTIME_PROVIDED = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "python_dateutil", "six", "urllib3"}
)

_IGNORED_NAMES = ("__pycache__", "*.pyc", ".mypy_cache", ".pytest_cache")


def _digest(parts: Iterable[bytes]) -> str:
    sha = hashlib.sha256()
    for part in parts:
        sha.update(len(part).to_bytes(8, "big"))
        sha.update(part)
    return sha.hexdigest()


def _tree_files(root: Path) -> list[Path]:
    return sorted(
        p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )


def _publish(staging: Path, target: Path) -> Path:
    """Move a finished build into place atomically; a concurrent synth may have won the race."""
    try:
        staging.rename(target)
    except OSError:
        if not target.is_dir():
            raise
        shutil.rmtree(staging, ignore_errors=True)
    return target


def dependencies_hash(requirements: Path = REQUIREMENTS_FILE) -> str:
    return _digest([requirements.read_bytes(), " ".join(PIP_PLATFORM_ARGS).encode()])


def build_code_layer(config_path: Path, build_root: Path = BUILD_ROOT) -> Path:
    """Stage the careline package and the practice config; returns the layer directory.

    The directory is named by a hash of its content, so a synth never sees a half-written tree.
    """
    files = _tree_files(PACKAGE_DIR)
    content_hash = _digest(
        [config_path.read_bytes()]
        + [str(f.relative_to(PACKAGE_DIR)).encode() + b"\0" + f.read_bytes() for f in files]
    )
    target = build_root / f"code-{content_hash[:16]}"
    if target.is_dir():
        return target
    staging = build_root / f".code-{uuid.uuid4().hex}"
    python_dir = staging / "python"
    shutil.copytree(PACKAGE_DIR, python_dir / "careline", ignore=shutil.ignore_patterns(*_IGNORED_NAMES))
    config_dir = python_dir / "careline_config"
    config_dir.mkdir(parents=True)
    shutil.copyfile(config_path, config_dir / "practice.yaml")
    return _publish(staging, target)


def build_dependency_layer(requirements: Path = REQUIREMENTS_FILE, build_root: Path = BUILD_ROOT) -> Path:
    """Install the pinned runtime dependencies for arm64/cp312, once per requirements hash."""
    target = build_root / f"deps-{dependencies_hash(requirements)[:16]}"
    if target.is_dir():
        return target
    staging = build_root / f".deps-{uuid.uuid4().hex}"
    site = staging / "python"
    site.mkdir(parents=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        *PIP_PLATFORM_ARGS,
        "--target",
        str(site),
        "-r",
        str(requirements),
    ]
    # PIP_USER or a virtualenv's PIP_REQUIRE_VIRTUALENV would break a --target install.
    env = {k: v for k, v in os.environ.items() if k not in ("PIP_USER", "PIP_REQUIRE_VIRTUALENV")}
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise RuntimeError(
            f"building the dependency layer from {requirements} failed:\n{result.stderr.strip()}"
        )
    for entry in site.iterdir():
        if entry.name.removesuffix(".py").split("-")[0].lower() in RUNTIME_PROVIDED:
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    shutil.rmtree(site / "bin", ignore_errors=True)
    return _publish(staging, target)


class CarelineLayers(Construct):
    """The code layer and the dependency layer every Careline function uses."""

    def __init__(self, scope: Construct, construct_id: str, *, config_path: Path) -> None:
        super().__init__(scope, construct_id)
        BUILD_ROOT.mkdir(parents=True, exist_ok=True)

        self.code = lambda_.LayerVersion(
            self,
            "Code",
            description="careline package and the practice configuration",
            code=lambda_.Code.from_asset(str(build_code_layer(config_path))),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
        )
        deps_dir = build_dependency_layer()
        self.dependencies = lambda_.LayerVersion(
            self,
            "Dependencies",
            description="careline runtime dependencies (requirements/lambda.txt)",
            # The requirements hash names the content, so CDK need not fingerprint ~60 MB per synth.
            code=lambda_.Code.from_asset(
                str(deps_dir),
                asset_hash=dependencies_hash(),
                asset_hash_type=cdk.AssetHashType.CUSTOM,
            ),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
        )

    @property
    def all(self) -> list[lambda_.ILayerVersion]:
        return [self.dependencies, self.code]
