"""The code and dependency layers, built without Docker for python3.12 on arm64."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from infra.layers import BUILD_ROOT, build_code_layer, build_dependency_layer, dependencies_hash
from tests.infra.synthesis import Synthesized

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]


def test_layers_are_for_python312_on_arm64(synth: Synthesized) -> None:
    layers = synth.resources("AWS::Lambda::LayerVersion")
    assert len(layers) == 2
    for layer in layers.values():
        assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
        assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]


def test_code_layer_ships_the_careline_package_and_the_practice_config(synth: Synthesized) -> None:
    layer_dir = build_code_layer(synth.config_path)
    assert (layer_dir / "python" / "careline" / "config.py").is_file()
    # the data files the package reads at run time: the bot model, the safety rules and weights
    for data_file in ("nlu/bot_model.yaml", "safety/rules.yaml", "safety/model.json"):
        assert (layer_dir / "python" / "careline" / data_file).is_file(), data_file
    assert not list(layer_dir.rglob("__pycache__"))
    shipped = yaml.safe_load((layer_dir / "python" / "careline_config" / "practice.yaml").read_text())
    assert shipped == yaml.safe_load(synth.config_path.read_text())


def test_code_layer_changes_with_the_config(synth: Synthesized, tmp_path: Path) -> None:
    other = tmp_path / "practice.yaml"
    other.write_text(synth.config_path.read_text().replace("Riverbend", "Lakeside"))
    assert build_code_layer(other) != build_code_layer(synth.config_path)


def test_dependency_layer_has_arm64_cp312_wheels_and_leaves_boto3_to_the_runtime(synth: Synthesized) -> None:
    site = build_dependency_layer() / "python"
    assert (site / "aws_lambda_powertools").is_dir()
    assert (site / "pynamodb").is_dir()
    assert list((site / "pydantic_core").glob("*.cpython-312-aarch64-linux-gnu.so"))
    for provided in ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3"):
        assert not (site / provided).exists(), provided
    assert not list(site.glob("boto3-*.dist-info"))


def test_dependency_layer_is_cached_by_the_requirements_hash(synth: Synthesized) -> None:
    layer_dir = build_dependency_layer()
    assert layer_dir == BUILD_ROOT / f"deps-{dependencies_hash()[:16]}"
    # CDK derives the asset hash from that digest alone, so an unchanged layer is never re-uploaded.
    (deps,) = [
        layer
        for name, layer in synth.resources("AWS::Lambda::LayerVersion").items()
        if name.startswith("LayersDependencies")
    ]
    asset_hash = hashlib.sha256(dependencies_hash().encode()).hexdigest()
    assert deps["Properties"]["Content"]["S3Key"] == f"{asset_hash}.zip"
