"""Run the FHIR R4 dev server (`local/fhir-dev-server`, Node) as a child process on 127.0.0.1.

The server prints `fhir-dev-server ready <base url>` once it listens; we wait for that line rather
than polling a port, so a free port can be chosen by the server itself with no race.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import IO

from careline_local.fhir.client import FhirClient

SERVER_DIR = Path(__file__).resolve().parents[2] / "fhir-dev-server"
_READY = re.compile(r"^fhir-dev-server ready (http://127\.0\.0\.1:(\d+)/fhir/R4)\s*$")
# Expose gc so the server can drop the ~40 MB of definition JSON right after indexing it; small
# semi-spaces keep the resident size near the live heap.
_NODE_FLAGS = ("--expose-gc", "--max-semi-space-size=1")

_live: set[FhirDevServer] = set()
_live_lock = threading.Lock()


class FhirDevServerError(RuntimeError):
    """The dev server could not be installed, started or reached."""


def node_executable() -> str:
    node = shutil.which("node")
    if node is None:
        raise FhirDevServerError("node was not found on PATH; the FHIR dev server needs Node 20 or newer")
    return node


def is_installed(server_dir: Path = SERVER_DIR) -> bool:
    return (server_dir / "node_modules" / "@medplum" / "fhir-router" / "package.json").is_file()


def install_dependencies(server_dir: Path = SERVER_DIR) -> None:
    """`npm ci` the server's pinned dependencies into its own node_modules (no global install)."""
    npm = shutil.which("npm")
    if npm is None:
        raise FhirDevServerError("npm was not found on PATH; it installs the FHIR dev server's packages")
    result = subprocess.run(
        [npm, "ci", "--prefix", str(server_dir), "--no-audit", "--no-fund", "--loglevel=error"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise FhirDevServerError(f"npm ci for the FHIR dev server failed:\n{result.stderr[-2000:]}")


class FhirDevServer:
    """The dev server as a context manager: `with FhirDevServer() as server: server.client()`.

    `port=0` lets the server pick a free loopback port; `base_url` is known once `start()` returns.
    The child exits with us even if we are killed outright: it watches its stdin, which we hold.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        server_dir: Path = SERVER_DIR,
        startup_timeout_seconds: float = 30.0,
        log_path: Path | None = None,
    ) -> None:
        self.port = port
        self.server_dir = server_dir
        self.startup_timeout_seconds = startup_timeout_seconds
        self.log_path = log_path or _default_log_path()
        self._process: subprocess.Popen[str] | None = None
        self._log: IO[str] | None = None
        self._base_url: str | None = None

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise FhirDevServerError("the FHIR dev server is not running")
        return self._base_url

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def client(self) -> FhirClient:
        return FhirClient(self.base_url)

    def start(self) -> str:
        """Start the server and wait for its ready line; returns the FHIR base URL."""
        if self.running:
            return self.base_url
        if not is_installed(self.server_dir):
            raise FhirDevServerError(
                f"the FHIR dev server's packages are missing: run `npm ci --prefix {self.server_dir}`"
            )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("a", encoding="utf-8")
        command = [
            node_executable(),
            *_NODE_FLAGS,
            str(self.server_dir / "server.mjs"),
            "--port",
            str(self.port),
            "--exit-with-parent",
        ]
        self._process = subprocess.Popen(
            command,
            cwd=self.server_dir,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            # Its own process group: a terminal Ctrl-C reaches us, and we stop it in order.
            start_new_session=True,
        )
        with _live_lock:
            _live.add(self)
        ready = threading.Event()
        threading.Thread(target=self._watch_stdout, args=(self._process, ready), daemon=True).start()
        if not ready.wait(self.startup_timeout_seconds) or self._base_url is None:
            exit_code = self._process.poll()
            self.stop()
            reason = f"exited with status {exit_code}" if exit_code is not None else "timed out"
            raise FhirDevServerError(f"the FHIR dev server {reason} before it was ready; see {self.log_path}")
        return self._base_url

    def _watch_stdout(self, process: subprocess.Popen[str], ready: threading.Event) -> None:
        assert process.stdout is not None
        try:
            # Keep draining after the ready line so the child can never block on a full pipe.
            for line in process.stdout:
                match = _READY.match(line)
                if match and not ready.is_set():
                    self._base_url = match.group(1)
                    ready.set()
        except (ValueError, OSError):
            pass  # stop() closed the pipe under us
        finally:
            ready.set()

    def stop(self, timeout_seconds: float = 5.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after the timeout). Safe to call twice."""
        process, self._process = self._process, None
        self._base_url = None
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout_seconds)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout_seconds)
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    stream.close()
        if self._log is not None:
            self._log.close()
            self._log = None
        with _live_lock:
            _live.discard(self)

    def __enter__(self) -> FhirDevServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _default_log_path() -> Path:
    # CARELINE_LOG_DIR is where the local runtime keeps its logs (and what the PHI log guard scans).
    log_dir = os.environ.get("CARELINE_LOG_DIR") or tempfile.gettempdir()
    return Path(log_dir) / "fhir-dev-server.log"


@atexit.register
def _stop_all() -> None:
    with _live_lock:
        servers = list(_live)
    for server in servers:
        server.stop(timeout_seconds=2.0)
