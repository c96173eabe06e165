"""`cycle start` without `--alliance` is refused in one line unless `--standalone` says so, and
the list marks a standalone cycle (issue 14)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).with_name("cycle-engine"))

pytestmark = pytest.mark.process


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=60)


def test_start_without_alliance_needs_standalone(sqlite_url: str) -> None:
    """The refusal names `--alliance` and standalone; `--standalone` starts one, listed so."""
    assert _run("init", "--db", sqlite_url).returncode == 0
    refused = _run("cycle", "start", "learning-cycle", "Seed systems", "--db", sqlite_url)
    assert refused.returncode == 1
    (line,) = refused.stderr.strip().splitlines()
    assert "alliance_id: name the alliance" in line and "standalone" in line
    started = _run(
        "cycle", "start", "learning-cycle", "Seed systems", "--standalone", "--db", sqlite_url
    )
    assert started.returncode == 0, started.stderr
    assert "standalone (only administrators see it)" in started.stdout
    listed = _run("cycle", "list", "--db", sqlite_url).stdout
    assert "Seed systems  (standalone: no alliance)" in listed
