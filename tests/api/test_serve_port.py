"""`serve` on a busy port says so in one line before printing that it is ready (issue 14): the
quick start used to print "API ready at ..." and then uvicorn's bind error."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cycle_engine.api.listening import port_refusal

CLI = str(Path(sys.executable).with_name("cycle-engine"))
SECRET = {"CYCLE_ENGINE_SECRET_KEY": "a-test-secret-that-is-long-enough-0123456789"}


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port another process (this test) is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def test_a_listening_port_is_refused_with_its_reason(busy_port: int) -> None:
    """The check names the address, the reason and the two ways to choose another port."""
    refusal = port_refusal("127.0.0.1", busy_port)
    assert refusal is not None
    assert f"cannot listen on 127.0.0.1:{busy_port}" in refusal
    assert "--port" in refusal and "make run PORT=" in refusal


def test_a_free_port_passes() -> None:
    """A port nobody holds is not refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        free = int(probe.getsockname()[1])
    assert port_refusal("127.0.0.1", free) is None


@pytest.mark.process
def test_serve_on_a_busy_port_fails_in_one_line_before_ready(
    sqlite_url: str, busy_port: int
) -> None:
    """The real command exits 1 with one line on stderr and never claims to be serving."""
    result = subprocess.run(
        [CLI, "serve", "--db", sqlite_url, "--port", str(busy_port), "--no-worker", "--no-sender"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **SECRET},
    )
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Cycle Engine:" not in result.stdout and "API ready" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot listen on 127.0.0.1:{busy_port}")
