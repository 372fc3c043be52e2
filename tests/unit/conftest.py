"""Unit-test fixtures: the sample practice, loaded once."""

from __future__ import annotations

import pytest
from careline.config import PracticeConfig, load_practice_config

from tests.unit.fakes import SAMPLE_CONFIG


@pytest.fixture(scope="session")
def practice() -> PracticeConfig:
    return load_practice_config(SAMPLE_CONFIG)
