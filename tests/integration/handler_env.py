"""The environment contract a turn handler reads (docs/architecture.md), for the handler tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def set_environment(monkeypatch: pytest.MonkeyPatch, aws: Any, **extra: str) -> None:
    """The environment contract a turn handler reads, pointed at moto's resources (and the outbox)."""
    env = {
        "CARELINE_CONFIG_PATH": str(ROOT / "config" / "practice.yaml"),
        "CARELINE_TABLE_NAME": aws.table_name,
        "CARELINE_KMS_KEY_ARN": aws.kms_key_arn,
        "CARELINE_HASH_SECRET_ARN": aws.hash_secret_arn,
        "CARELINE_EVENT_BUS_NAME": aws.event_bus_name,
        "CARELINE_QUARANTINE_QUEUE_URL": aws.queue_url,
        "CARELINE_MESSENGER": "outbox",
        **extra,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
