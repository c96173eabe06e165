"""Real processes for the deployment tests: `serve`, `worker` and `mail send --forever` started
as an operator would (settings in the environment, logs to a file each), a recording SMTP
server (aiosmtpd) on loopback, and scraping a process's /metrics."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from prometheus_client.parser import text_string_to_metric_families

SECRET = "deploy-test-secret-key-0123456789-abcdefghij"
METRICS_TOKEN = "metrics-token-for-the-deploy-tests-0123456789"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def settings_env(db_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment every process of one deployment shares (README, "Deploying")."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CYCLE_ENGINE_")}
    env.update(
        CYCLE_ENGINE_DATABASE_URL=db_url,
        CYCLE_ENGINE_SECRET_KEY=SECRET,
        CYCLE_ENGINE_DATA_DIR=str(data_dir),
        CYCLE_ENGINE_METRICS_TOKEN=METRICS_TOKEN,
        CYCLE_ENGINE_LOG_FORMAT="json",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@dataclass
class Process:
    """One running `cycle-engine` command, its output in `log`."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    url: str = ""

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no release of leases."""
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(10)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def metrics_url(self, timeout: float = 30) -> str:
        """The URL its `--metrics-port` listener announced."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(r"metrics at (http://\S+/metrics)", self.output())
            if found:
                return found.group(1)
            if self.popen.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} announced no metrics port:\n{self.output()[-3000:]}")


def start(name: str, args: list[str], env: Mapping[str, str], logs: Path) -> Process:
    log = logs / f"{name}.log"
    with log.open("wb") as handle:
        popen = subprocess.Popen(
            [sys.executable, "-m", "cycle_engine", *args],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=dict(env),
        )
    return Process(name=name, popen=popen, log=log)


def start_serve(
    name: str, env: Mapping[str, str], logs: Path, *extra: str, port: int | None = None
) -> Process:
    """`cycle-engine serve --no-worker --no-sender` on `port` (default: a free one), once it
    answers /healthz."""
    port = port or free_port()
    args = ["serve", "--port", str(port), "--no-worker", "--no-sender", *extra]
    process = start(name, args, env, logs)
    process.url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{name} exited:\n{process.output()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{process.url}/healthz", timeout=2).status_code == 200:
                return process
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not start:\n{process.output()[-3000:]}")


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str, token: str | None = METRICS_TOKEN) -> Samples:
    """Every sample of a /metrics page, by (name, labels)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(url, headers=headers, timeout=30)
    response.raise_for_status()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples named `name` whose labels include `labels` (0 when none)."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


@dataclass
class RecordingHandler:
    """Accepts every message and counts it by Message-ID."""

    received: Counter[str] = field(default_factory=Counter)
    bodies: dict[str, bytes] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = bytes(envelope.original_content or envelope.content)
        message = message_from_bytes(content, policy=policy.default)
        message_id = str(message["Message-ID"])
        with self.lock:
            self.received[message_id] += 1
            self.bodies[message_id] = content
        return "250 OK"


@contextlib.contextmanager
def smtp_server() -> Iterator[tuple[RecordingHandler, int]]:
    """A real SMTP server (aiosmtpd) on a free loopback port, recording what it accepts."""
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def smtp_env(port: int) -> dict[str, str]:
    return {
        "CYCLE_ENGINE_SMTP_HOST": "127.0.0.1",
        "CYCLE_ENGINE_SMTP_PORT": str(port),
        "CYCLE_ENGINE_SMTP_TLS": "none",
        "CYCLE_ENGINE_SMTP_POOL": "8",
        "CYCLE_ENGINE_MAIL_HOURLY_CAP": "100000",
    }


def wait_until(check: Any, timeout: float, what: str, interval: float = 0.2) -> None:
    """Poll `check()` until it is true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
