"""`careline local` as a real subprocess on free loopback ports, shared by the e2e tests.

Its console output goes to a file under `CARELINE_LOG_DIR`, which the PHI log guard scans. On
teardown it gets SIGTERM, as a terminal's Ctrl-C would stop it, and must exit cleanly leaving
no child process (the Node FHIR server) behind.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from careline_local.fhir import load_demo_patients
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"careline local ready on (http://127\.0\.0\.1:\d+)")
STARTUP_SECONDS = 120


@dataclass
class LocalRuntime:
    url: str
    process: subprocess.Popen[bytes]
    console: Path
    children: set[int] = field(default_factory=set)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def ok(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        status, payload = self.call(method, path, body)
        assert status == 200, (status, payload)
        return payload

    def text(self, phone: str, message: str) -> list[str]:
        """Send one SMS as `phone`; the texts of the replies it caused."""
        return [
            reply["text"]
            for reply in self.ok("POST", "/api/sms", {"from": phone, "text": message})["replies"]
        ]

    def set_clock(self, iso: str) -> None:
        self.ok("POST", "/api/clock", {"set": iso})


def child_pids(pid: int) -> set[int]:
    """Direct children of `pid`, from /proc."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="session")
def demo_phones() -> list[str]:
    return [patient.phone for patient in load_demo_patients()]


@pytest.fixture(scope="session")
def local_runtime() -> Iterator[LocalRuntime]:
    log_dir = Path(os.environ.get("CARELINE_LOG_DIR") or tempfile.mkdtemp(prefix="careline-e2e-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    console = log_dir / f"careline-local-e2e-{os.getpid()}.console.log"
    with console.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "careline_local.cli", "local", "--port", "0"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "CARELINE_LOG_DIR": str(log_dir), "PYTHONUNBUFFERED": "1"},
        )
    runtime: LocalRuntime | None = None
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while runtime is None:
            match = READY.search(console.read_text(encoding="utf-8", errors="replace"))
            if match:
                runtime = LocalRuntime(url=match.group(1), process=process, console=console)
            elif process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"careline local did not become ready (exit {process.poll()}); see {console}")
            else:
                time.sleep(0.2)
        assert runtime.ok("GET", "/api/health")["status"] == "ok"
        runtime.children = child_pids(process.pid)
        yield runtime
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                pytest.fail("careline local ignored SIGTERM for 30 s")
    assert process.returncode == 0, f"careline local exited with {process.returncode}; see {console}"
    if runtime is not None:
        time.sleep(0.5)  # a child reaped by init may take a moment to vanish
        left = [pid for pid in runtime.children if alive(pid)]
        assert not left, f"careline local left child processes running: {left}"


CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    """Headless Chromium for the page tests (skipped without it locally; CI must have it)."""
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        message = f"Chromium and its driver are needed at {CHROMIUM} and {CHROMEDRIVER}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI must install Debian's chromium and chromium-driver)")
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def page_wait(browser: webdriver.Chrome, seconds: float = 20) -> WebDriverWait[webdriver.Chrome]:
    """A wait for the pages, which re-render their lists while they poll: an element read just as
    it is replaced (stale) is looked up again on the next try, not a failure."""
    return WebDriverWait(browser, seconds, ignored_exceptions=(StaleElementReferenceException,))
