"""Unit-test fixtures: the sample practice, loaded once, and its raw YAML to break."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from careline.config import PracticeConfig, load_practice_config

from tests.unit.fakes import SAMPLE_CONFIG


@pytest.fixture(scope="session")
def practice() -> PracticeConfig:
    return load_practice_config(SAMPLE_CONFIG)


@pytest.fixture
def raw() -> dict[str, Any]:
    """The sample config as parsed YAML, a fresh copy for each test to change."""
    data: dict[str, Any] = yaml.safe_load(SAMPLE_CONFIG.read_text(encoding="utf-8"))
    return copy.deepcopy(data)
