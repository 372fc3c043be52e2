"""Logging for the local runtime: the console and `.careline/logs/` (or `CARELINE_LOG_DIR`).

Careline's own Powertools logger keeps its JSON lines and also writes them to the file, so what
the handler logs locally is what it would log in CloudWatch. Nothing here adds PHI: the gateway and
runner log ids, paths, statuses and counts only.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from careline.observability import SERVICE, logger

from careline_local.paths import log_dir

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(filename: str, *, console: bool = True, level: int = logging.INFO) -> Path:
    """Send `careline_local` and Careline's logs to `<log dir>/<filename>`, and to the console
    unless `console` is False (the scenario runner's console is its report)."""
    folder = log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / filename
    file_handler = logging.FileHandler(path, encoding="utf-8")
    file_handler.setFormatter(logging.Formatter(_FORMAT))

    local = logging.getLogger("careline_local")
    local.setLevel(level)
    local.propagate = False
    local.addHandler(file_handler)
    if console:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s", "%H:%M:%S"))
        local.addHandler(stream)

    # Powertools writes its JSON to stdout itself; this adds the same lines to the file.
    careline_file = logging.FileHandler(path, encoding="utf-8")
    careline_file.setFormatter(logger.registered_formatter)
    careline = logging.getLogger(SERVICE)
    if not console:
        for handler in list(careline.handlers):
            careline.removeHandler(handler)
    careline.addHandler(careline_file)

    # moto's server logs every request line; only its warnings matter here.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    return path
