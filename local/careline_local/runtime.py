"""`careline local`: moto, the FHIR dev server and the gateway on 127.0.0.1, until Ctrl-C.

Everything it starts it stops, in reverse order, on SIGINT or SIGTERM: the gateway thread, the
Node FHIR server (a child that also exits if we die, since it watches the stdin we hold), and the
moto server thread.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType

from careline.config import PracticeConfig, load_practice_config
from moto.server import ThreadedMotoServer

from careline_local.aws import (
    MOTO_CONFIG,
    apply_environment,
    aws_environment,
    careline_environment,
    provision,
)
from careline_local.clock import LocalClock
from careline_local.paths import PRACTICE_CONFIG

log = logging.getLogger("careline_local.runtime")


@dataclass(frozen=True)
class LocalOptions:
    port: int = 8080
    fhir: bool = True
    config_path: Path = PRACTICE_CONFIG


def demo_patients() -> list[dict[str, str]]:
    """The demo patients the page offers as numbers to text from (id, name, phone)."""
    from careline_local.fhir import load_demo_patients

    return [{"id": p.id, "name": p.name, "phone": p.phone} for p in load_demo_patients()]


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto in server mode on a free loopback port; yields its endpoint URL.

    It executes state machines and runs Lambda without Docker (`MOTO_CONFIG`, set through moto's
    own config endpoint), and a state machine's tasks call moto back on this port (`MOTO_PORT`).
    """
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    previous_port = os.environ.get("MOTO_PORT")
    os.environ["MOTO_PORT"] = str(port)
    request = urllib.request.Request(  # noqa: S310 - our own loopback server
        f"{endpoint}/moto-api/config",
        data=json.dumps(MOTO_CONFIG).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - loopback
        pass
    try:
        yield endpoint
    finally:
        server.stop()
        if previous_port is None:
            os.environ.pop("MOTO_PORT", None)
        else:
            os.environ["MOTO_PORT"] = previous_port


@contextlib.contextmanager
def fhir_dev_server(enabled: bool, config: PracticeConfig, now: datetime) -> Iterator[str | None]:
    """The FHIR dev server seeded with the demo practice as of `now`; yields its base URL."""
    if not enabled:
        yield None
        return
    from careline_local.fhir import FhirDevServer, seed_demo_practice

    with FhirDevServer(port=0) as server:
        with server.client() as client:
            summary = seed_demo_practice(client, config, now)
        log.info("demo practice seeded: %d patients, %d free slots", summary.patients, summary.free_slots)
        yield server.base_url


def _stop_event() -> threading.Event:
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("%s received: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    return stop


def run_local(options: LocalOptions) -> int:
    """Bring the local runtime up, print where it is, and block until SIGINT/SIGTERM."""
    from careline_local.gateway import Gateway
    from careline_local.logs import setup_logging
    from careline_local.stack import LocalStack

    log_path = setup_logging("local.log")
    stop = _stop_event()
    config = load_practice_config(options.config_path)
    region = config.deployment.region
    with contextlib.ExitStack() as running:
        endpoint = running.enter_context(moto_server())
        # boto3 and pynamodb read these when each client is made: set before any client exists.
        apply_environment(aws_environment(region, endpoint))
        resources = provision(region, reminder_concurrency=config.reminders.max_concurrency)
        apply_environment(
            careline_environment(
                resources,
                config_path=str(options.config_path),
                origination_identity=config.practice.phone,
            )
        )
        log.info("moto on %s; table, key, secret, queue and bus created", endpoint)
        clock = LocalClock(ticking=True)
        fhir_url = running.enter_context(fhir_dev_server(options.fhir, config, clock.now()))
        if fhir_url:
            log.info("FHIR dev server on %s", fhir_url)
            # the composition root builds the EHR adapter from this, as it would from the secret in AWS
            apply_environment({"CARELINE_FHIR_BASE_URL": fhir_url})
        stack = LocalStack(resources=resources, clock=clock, config=config, fhir_base_url=fhir_url)
        running.callback(stack.close)
        gateway = Gateway(stack, options.port, demo_patients())
        gateway.start()
        running.callback(gateway.stop)
        # The e2e tests and scripts wait for this exact line.
        print(f"careline local ready on {gateway.url} (logs: {log_path}); Ctrl-C stops it", flush=True)
        stop.wait()
    log.info("stopped")
    return 0
