"""The wheel installs beside any host: built from a copy of the source, it holds only the
`cycle_engine` package (the HTTP layer, delivery and built-in templates inside it, with their
templates and static files), and installed into a fresh venv next to a host project that has its
own `api`, `notifications` and `workflows` packages, both sides import what they should.

The build and the venv's dependencies come through pip from the package registry (pinned by
constraints.txt); the project venv is not touched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "cycle_engine", "api", "notifications", "workflows")
HOST_PACKAGES = ("api", "notifications", "workflows")

pytestmark = [pytest.mark.slow, pytest.mark.process]


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without the test run's paths and engine settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "VIRTUAL_ENV"} and not k.startswith("CYCLE_ENGINE_")
    }
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return {**env, **extra}


def run(*args: str | Path, cwd: Path | None = None, **env: str) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, (args, done.stdout[-3000:], done.stderr[-3000:])
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built by pip from a copy of the source (the links under cycle_engine/ kept)."""
    source = tmp_path_factory.mktemp("source")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(path, source / name)
    dist = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", dist, source)
    (built,) = dist.glob("cycle_engine-*.whl")
    return built


@dataclass(frozen=True)
class Installed:
    """A fresh venv with the wheel installed, and a host project beside it."""

    python: Path
    bin: Path
    host: Path


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("install")
    venv = base / "venv"
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    constraints = ROOT / "constraints.txt"
    run(python, "-m", "pip", "install", "--quiet", "-c", constraints, wheel)
    host = base / "host"
    for package in HOST_PACKAGES:
        (host / package).mkdir(parents=True)
        (host / package / "__init__.py").write_text(f'OWNER = "host {package}"\n')
    return Installed(python=python, bin=venv / "bin", host=host)


def test_wheel_holds_only_the_cycle_engine_package(wheel: Path) -> None:
    """Every file is under `cycle_engine/` (or the dist-info), including the HTTP layer, the
    dashboard's templates and static files, the mail templates and the built-in templates."""
    names = set(zipfile.ZipFile(wheel).namelist())
    tops = {name.split("/", 1)[0] for name in names}
    assert tops == {"cycle_engine", wheel.name.split("-py3")[0] + ".dist-info"}
    for expected in (
        "cycle_engine/api/app.py",
        "cycle_engine/api/dashboard/web.py",
        "cycle_engine/api/dashboard/templates/base.html",
        "cycle_engine/api/dashboard/templates/partials/cycle_table.html",
        "cycle_engine/api/dashboard/static/dashboard.css",
        "cycle_engine/api/dashboard/static/vendor/htmx.min.js",
        "cycle_engine/notifications/templates/email/en/signin.txt",
        "cycle_engine/api/dashboard/locale/es/LC_MESSAGES/dashboard.po",
        "cycle_engine/api/dashboard/locale/fr/LC_MESSAGES/dashboard.po",
        "cycle_engine/notifications/locale/es/LC_MESSAGES/pages.po",
        "cycle_engine/notifications/locale/fr/LC_MESSAGES/pages.po",
        "cycle_engine/spec/locale/es/LC_MESSAGES/validator.po",
        "cycle_engine/spec/locale/fr/LC_MESSAGES/validator.po",
        "cycle_engine/workflows/learning_cycle.yaml",
        "cycle_engine/workflows/rapid_cycle.yaml",
        "cycle_engine/workflows/template.schema.json",
        "cycle_engine/store/migrations/env.py",
        "cycle_engine/store/migrations/script.py.mako",
    ):
        assert expected in names, expected
    metadata = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    entry_points = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "server = cycle_engine.api.cli:register" in entry_points
    assert "mail = cycle_engine.notifications.cli:register" in entry_points


CHECK_BESIDE_HOST = """
import asyncio, json, sys
from pathlib import Path

import api, notifications, workflows
import cycle_engine
from cycle_engine.api import Settings, create_app, mounted_lifespan
from cycle_engine.spec import builtin_template_paths

import httpx

async def dashboard_answers(database_url):
    settings = Settings(
        database_url=database_url, secret_key="beside-a-host-secret-0123456789-abcdefg",
        run_worker=False, run_sender=False, data_dir="data",
    )
    app = create_app(settings)
    async with mounted_lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://host") as client:
            paths = ["/readyz", "/dashboard/signin", "/dashboard/static/dashboard.css"]
            return {path: (await client.get(path)).status_code for path in paths}

print(json.dumps({
    "host": [api.OWNER, notifications.OWNER, workflows.OWNER],
    "engine": str(Path(cycle_engine.__file__).parent),
    "builtins": [path.name for path in builtin_template_paths()],
    "answers": asyncio.run(dashboard_answers(sys.argv[1])),
}))
"""


def test_installs_beside_a_host_with_its_own_generic_packages(installed: Installed) -> None:
    """Beside a host with its own `api`, `notifications` and `workflows`, the host's packages are
    the host's, the built-in templates are found, `cycle_engine.api` builds an app that serves
    its dashboard from the wheel, and the CLI lists the server's and mail commands."""
    host = installed.host
    database = f"sqlite:///{host / 'cycles.db'}"
    cli = installed.bin / "cycle-engine"
    init = run(cli, "init", "--db", database, cwd=host, PYTHONPATH=str(host))
    assert "template learning-cycle v1" in init
    (host / "check.py").write_text(CHECK_BESIDE_HOST)
    found = json.loads(run(installed.python, "check.py", database, cwd=host))
    assert found["host"] == ["host api", "host notifications", "host workflows"]
    assert Path(found["engine"]).is_relative_to(installed.python.parents[1])
    assert found["builtins"] == ["learning_cycle.yaml", "rapid_cycle.yaml"]
    assert set(found["answers"].values()) == {200}, found["answers"]
    helped = run(cli, "--help", cwd=host, PYTHONPATH=str(host))
    for command in ("serve", "key", "mail", "signin-link", "worker", "template"):
        assert f" {command} " in helped, command
