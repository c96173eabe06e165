"""`cycle-engine --help` answers without loading the database layer, the models or the web
stack (it used to import all of them and take about two seconds). Deterministic: the test reads
which modules `python -X importtime` reports, not how long they took."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.process

HEAVY = ("sqlalchemy", "sqlmodel", "alembic", "fastapi", "starlette", "uvicorn", "apscheduler")


def imported_modules(*args: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "cycle_engine", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


@pytest.mark.parametrize("args", [("--help",), ("cycle", "--help"), ("serve", "--help")])
def test_help_does_not_import_the_database_models_or_web_stack(args: tuple[str, ...]) -> None:
    """No SQLAlchemy, SQLModel, Alembic, web framework, scheduler or table module is imported."""
    modules = imported_modules(*args)
    assert "cycle_engine.cli" in modules
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    tables = sorted(m for m in modules if m.startswith("cycle_engine.store"))
    assert heavy == [] and tables == []
