"""`cycle-engine --help` answers without loading the database layer, the models or the web
stack (it used to import all of them and take about two seconds), and `cycle list` reads the
one list of cycles without opening the whole engine (issue 16: it imported 747 modules, among
them Alembic, Jinja and every service). Deterministic: the tests read which modules
`python -X importtime` reports, not how long they took."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cycle_engine import CycleEngine
from cycle_engine.store.schema import upgrade

pytestmark = pytest.mark.process

HEAVY = (
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    "fastapi",
    "starlette",
    "uvicorn",
    "jinja2",
    "apscheduler",
    "transitions",
    "aiosmtplib",
    "yaml",
)
#: What `cycle list` needs is the store, its tables and the listing query: none of these.
NOT_FOR_A_LIST = (
    "alembic",
    "fastapi",
    "starlette",
    "uvicorn",
    "jinja2",
    "apscheduler",
    "transitions",
    "aiosmtplib",
    "yaml",
)
#: Modules `cycle list` may import in all (standard library, typer, SQLAlchemy, SQLModel and
#: pydantic included; 508 when this budget was set, 747 through the engine).
LIST_BUDGET = 560


def imported_modules(*args: str) -> set[str]:
    """Every module `cycle-engine *args` imports (it must succeed)."""
    return run_with_importtime(*args)[0]


def run_with_importtime(*args: str) -> tuple[set[str], str]:
    """The modules `cycle-engine *args` imports, and what it printed (it must succeed)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "cycle_engine", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return modules, result.stdout


@pytest.mark.parametrize("args", [("--help",), ("cycle", "--help"), ("serve", "--help")])
def test_help_does_not_import_the_database_models_or_web_stack(args: tuple[str, ...]) -> None:
    """No SQLAlchemy, SQLModel, Alembic, web framework, scheduler or table module is imported."""
    modules = imported_modules(*args)
    assert "cycle_engine.cli" in modules
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    tables = sorted(m for m in modules if m.startswith("cycle_engine.store"))
    assert heavy == [] and tables == []


def test_cycle_list_reads_without_the_engine_within_a_module_budget(tmp_path: Path) -> None:
    """`cycle list` lists a cycle importing the store and the listing only: no migrations,
    templates' machines, renderer, scheduler or web stack, and at most LIST_BUDGET modules."""
    url = f"sqlite:///{tmp_path / 'cycles.db'}"
    upgrade(url)
    with CycleEngine(url) as engine:
        engine.publish_builtin_templates()
        engine.start_cycle("learning-cycle", "Listed cycle", standalone=True)
    modules, printed = run_with_importtime("cycle", "list", "--db", url)
    assert "Listed cycle" in printed and "learning-cycle v1" in printed
    heavy = sorted(m for m in modules if m.split(".")[0] in NOT_FOR_A_LIST)
    services = sorted(
        m
        for m in modules
        if m.split(".")[:2]
        in (["cycle_engine", "engine"], ["cycle_engine", "outbox"], ["cycle_engine", "scheduler"])
        or m.startswith(("cycle_engine.spec", "cycle_engine.templates"))
    )
    assert heavy == [] and services == []
    assert "cycle_engine.cycles.listing" in modules
    assert len(modules) <= LIST_BUDGET, f"{len(modules)} modules imported"
