"""The `cycle-engine` console script, run for real: human output, --json, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cycle_engine.pilot import PILOT

pytestmark = pytest.mark.process

CLI = str(Path(sys.executable).with_name("cycle-engine"))


def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([CLI, *args], capture_output=True, text=True, timeout=60)
    if ok:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def pilot_file(tmp_path: Path) -> Path:
    path = tmp_path / "pilot.yaml"
    path.write_text(PILOT, encoding="utf-8")
    return path


def test_walk_a_cycle_from_the_command_line(db_url: str, pilot_file: Path) -> None:
    """Publish, start, fire, show and read history through the console script."""
    assert (
        "published pilot v1" in run("template", "publish", str(pilot_file), "--db", db_url).stdout
    )
    assert "unchanged" in run("template", "publish", str(pilot_file), "--db", db_url).stdout
    started = json.loads(
        run(
            "cycle", "start", "pilot", "Seed systems", "--standalone", "--db", db_url, "--json"
        ).stdout
    )
    cycle_id = str(started["id"])
    assert started["state"] == "draft"
    fired = run("cycle", "fire", cycle_id, "submit", "--note", "ready", "--db", db_url).stdout
    assert "draft -> review (v2)" in fired
    shown = run("cycle", "show", cycle_id, "--db", db_url).stdout
    assert "[ok]      approve -> done" in shown
    assert "[blocked] send_back -> draft: a note is required" in shown
    history = run("cycle", "history", cycle_id, "--db", db_url).stdout
    assert "submit" in history and '"ready"' in history
    listed = json.loads(run("cycle", "list", "--state", "review", "--db", db_url, "--json").stdout)
    assert [c["id"] for c in listed] == [started["id"]]


def test_bad_command_exits_nonzero_with_one_line_reason(db_url: str, pilot_file: Path) -> None:
    """A blocked trigger and an unknown cycle give exit 1 and a reason on stderr."""
    run("template", "publish", str(pilot_file), "--db", db_url)
    cycle_id = str(
        json.loads(
            run("cycle", "start", "pilot", "X", "--standalone", "--db", db_url, "--json").stdout
        )["id"]
    )
    blocked = run("cycle", "fire", cycle_id, "approve", "--db", db_url, ok=False)
    assert blocked.returncode == 1
    assert blocked.stderr.startswith("error: cannot fire 'approve' from 'draft'")
    assert len(blocked.stderr.strip().splitlines()) == 1
    missing = run("cycle", "show", "999", "--db", db_url, ok=False)
    assert (missing.returncode, missing.stderr.strip()) == (1, "error: cycle 999 not found")


def test_invalid_template_lists_every_problem(tmp_path: Path) -> None:
    """`template validate` on a bad file prints each problem with its path and exits 1."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(PILOT.replace("to: review", "to: reveiw").replace("P2W", "P2X"), "utf-8")
    result = run("template", "validate", str(bad), ok=False)
    assert result.returncode == 1
    assert "bad.yaml: transitions[0].to" in result.stderr
    assert "reveiw" in result.stderr
    assert "P2X" in result.stderr


def test_uninitialised_database_is_refused(tmp_path: Path) -> None:
    """Commands against a database with no schema say to run init, and change nothing."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = run("cycle", "list", "--db", url, ok=False)
    assert "run `cycle-engine init`" in result.stderr
