"""Every CLI failure ends in one line naming its cause and exit status 1; a traceback only with
`--debug`. Run as real processes against real databases (and a PostgreSQL port nobody serves)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from cycle_engine.store.schema import VERSION_TABLE
from tests.conftest import fill_disk
from tests.cycle_engine.pilot import PILOT

pytestmark = pytest.mark.process

CLI = str(Path(sys.executable).with_name("cycle-engine"))


def fails(*args: str, env: dict[str, str] | None = None) -> str:
    """Run the CLI, expect exit status 1 and one line on stderr; return that line."""
    result = subprocess.run(
        [CLI, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_unreachable_database_is_one_line() -> None:
    """A PostgreSQL server that does not answer is named as a connection failure."""
    line = fails("cycle", "list", "--db", "postgresql+psycopg://postgres@127.0.0.1:9/none")
    assert line.startswith("error: database: cannot connect")


def test_read_only_database_is_one_line(sqlite_url: str, tmp_path: Path) -> None:
    """Writing to a database opened read-only says so, in one line."""
    path = sqlite_url.removeprefix("sqlite:///")
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    template = tmp_path / "pilot.yaml"
    template.write_text(PILOT, encoding="utf-8")
    line = fails("template", "publish", str(template), "--db", read_only)
    assert line.startswith("error: database: ") and "read" in line


def test_too_new_schema_stops_serve_before_it_starts(sqlite_url: str) -> None:
    """`serve` refuses a schema from a newer engine with its one-line reason."""
    database = create_engine(sqlite_url)
    with database.begin() as connection:
        connection.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999_future'"))
    database.dispose()
    secret = {"CYCLE_ENGINE_SECRET_KEY": "a-test-secret-that-is-long-enough-0123456789"}
    line = fails("serve", "--db", sqlite_url, "--port", "1", env=secret)
    assert "newer than this engine" in line and "9999_future" in line


def test_file_errors_name_the_file(tmp_path: Path, sqlite_url: str) -> None:
    """A folder or a non-UTF-8 file given as a template names the file, in one line."""
    line = fails("template", "validate", str(tmp_path))
    assert line.startswith(f"error: template is invalid: {tmp_path}: cannot read the file")
    latin = tmp_path / "plantilla.yaml"
    latin.write_bytes("title: Café de altura\n".encode("latin-1"))
    line = fails("template", "publish", str(latin), "--db", sqlite_url)
    assert line.startswith("error: cannot read the file as UTF-8")


def test_debug_shows_the_traceback() -> None:
    """With --debug (or CYCLE_ENGINE_DEBUG=1) the failure keeps its traceback."""
    result = subprocess.run(
        [CLI, "--debug", "cycle", "list", "--db", "postgresql+psycopg://postgres@127.0.0.1:9/n"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "Traceback" in result.stderr


def test_full_disk_is_one_line(sqlite_url: str, small_disk: Path, tmp_path: Path) -> None:
    """`cycle start`, `cycle fire` and `worker --once` on a full disk name the cause in one
    line (they used to print 80-line tracebacks)."""
    copy = small_disk / "cycles.db"
    copy.write_bytes(Path(sqlite_url.removeprefix("sqlite:///")).read_bytes())
    url = f"sqlite:///{copy}"
    template = tmp_path / "pilot.yaml"
    template.write_text(PILOT, encoding="utf-8")
    subprocess.run([CLI, "template", "publish", str(template), "--db", url], check=True)
    subprocess.run(
        [CLI, "cycle", "start", "pilot", "Seed", "--standalone", "--db", url], check=True
    )
    fill_disk(small_disk)
    for args in (
        ("cycle", "start", "pilot", "Another", "--standalone"),
        ("cycle", "fire", "1", "pause"),
        ("worker", "--once", "--now", "2027-01-01T00:00:00+00:00"),
    ):
        line = fails(*args, "--db", url)
        assert line.startswith(
            ("error: database: the disk is full", "error: database: disk I/O error")
        ), (args, line)
