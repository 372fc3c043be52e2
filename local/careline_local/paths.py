"""Where the repository's files are, found from this package (installed editable from `local/`)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PRACTICE_CONFIG = REPO_ROOT / "config" / "practice.yaml"
SMS_HANDLER = REPO_ROOT / "functions" / "sms_inbound" / "handler.py"
VOICE_TURN_HANDLER = REPO_ROOT / "functions" / "voice_turn" / "handler.py"
VOICE_CONTACT_HANDLER = REPO_ROOT / "functions" / "voice_contact" / "handler.py"
SAFETY_CORPUS = REPO_ROOT / "data" / "safety"


def log_dir() -> Path:
    """`CARELINE_LOG_DIR` if set (tests point it at a scanned folder), else `.careline/logs/`."""
    return Path(os.environ.get("CARELINE_LOG_DIR") or REPO_ROOT / ".careline" / "logs")
