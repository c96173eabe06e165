"""A host project (`project/`, the "Budget desk") installed the way a host installs it: copied
to a temporary folder with a `*.dist-info` folder declaring its `cycle_engine.plugins` entry
point (read from its own pyproject.toml), so processes started with that folder on PYTHONPATH
find the plugin through `importlib.metadata`, and the project venv stays untouched.

The project's own tests are not collected here: with this repository on `sys.path`, `import api`
would find the engine's source folder instead of the host's package. They run in a subprocess
(see test_host_app.py) whose path has the host's folder and not this repository.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT = Path(__file__).with_name("project")
VENV_BIN = Path(sys.executable).parent
collect_ignore = ["project"]


@dataclass(frozen=True)
class HostProject:
    """A host project installed in `root`; `env` runs processes with it importable."""

    root: Path
    env: dict[str, str]

    def run(
        self, *args: str, ok: bool = True, plugin: bool = True, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """Run a command in the host's folder and check it exits 0 (or, with `ok=False`, not).

        `plugin=False` takes the host off the path (the engine alone); `env` adds variables.
        """
        environ = {**self.env, **env}
        if not plugin:
            del environ["PYTHONPATH"]
        done = subprocess.run(
            args,
            env=environ,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert (done.returncode == 0) is ok, (args, done.returncode, done.stdout, done.stderr)
        return done


def install_host_project(target: Path) -> HostProject:
    """Copy the project to `target` and write the dist-info its pyproject.toml describes."""
    root = target / "budget_desk"
    shutil.copytree(PROJECT, root, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    meta = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    dist_info = root / f"{meta['name'].replace('-', '_')}-{meta['version']}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {meta['version']}\n",
        encoding="utf-8",
    )
    lines = []
    for group, entries in meta["entry-points"].items():
        lines.append(f"[{group}]")
        lines += [f"{name} = {value}" for name, value in entries.items()]
    (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CYCLE_ENGINE_") and k not in {"PYTHONPATH", "PYTEST_ADDOPTS"}
    }
    env["PYTHONPATH"] = str(root)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return HostProject(root=root, env=env)


@pytest.fixture
def host_project(tmp_path: Path) -> HostProject:
    return install_host_project(tmp_path)
