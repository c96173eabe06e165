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
#: `cycle list` reads two tables through the database driver: none of these either (typer
#: itself brings pydantic to coerce a command's options, but no model is defined).
NOT_FOR_A_LIST = HEAVY
#: The engine's layers below the CLI (beside the store, checked on its own).
SERVICES = ("engine", "templates", "outbox", "scheduler", "cycles", "alliances", "changes", "spec")
#: Modules `cycle list` may import in all (standard library and typer included; 293 when this
#: budget was set, 508 through SQLAlchemy and the models, 747 through the engine).
LIST_BUDGET = 320


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


def test_cycle_list_reads_through_the_driver_within_a_module_budget(tmp_path: Path) -> None:
    """`cycle list` lists a cycle without SQLAlchemy, the models, the services or
    the web stack, and imports at most LIST_BUDGET modules."""
    url = f"sqlite:///{tmp_path / 'cycles.db'}"
    upgrade(url)
    with CycleEngine(url) as engine:
        engine.publish_builtin_templates()
        engine.start_cycle("learning-cycle", "Listed cycle", standalone=True)
    modules, printed = run_with_importtime("cycle", "list", "--db", url)
    assert "Listed cycle" in printed and "learning-cycle v1" in printed
    heavy = sorted(m for m in modules if m.split(".")[0] in NOT_FOR_A_LIST)
    ours = sorted(
        m
        for m in modules
        if m.split(".")[0] == "cycle_engine"
        and m.split(".")[1:2] in ([layer] for layer in SERVICES)
    )
    assert heavy == [] and ours == []
    assert {m for m in modules if m.startswith("cycle_engine.store")} <= {
        "cycle_engine.store",
        "cycle_engine.store.defaults",
    }
    assert len(modules) <= LIST_BUDGET, f"{len(modules)} modules imported"
