"""The deployment files are the ones the README shows, and they work: each systemd unit and the
environment file appear verbatim in the README's "Deploying" section, every command a unit
starts is one the CLI accepts with those options, and the environment file's settings load once
their placeholders are replaced (and are refused while they are not)."""

from __future__ import annotations

import re
import secrets
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from cycle_engine.api.settings import Settings
from cycle_engine.errors import InvalidInput
from cycle_engine.notifications.settings import load_mail_settings

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
FILES = sorted(UNITS.iterdir())


def deploying_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("## Deploying", 1)[1].split("\n## ", 1)[0]


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_readme_shows_each_deployment_file_as_it_is(path: Path) -> None:
    """The README's Deploying section holds the file's whole text, named by its path."""
    section = deploying_section()
    assert f"deploy/systemd/{path.name}" in section
    assert f"```ini\n{path.read_text(encoding='utf-8')}```" in section


@pytest.mark.process
@pytest.mark.parametrize("path", [p for p in FILES if p.suffix == ".service"], ids=lambda p: p.name)
def test_each_unit_starts_a_command_the_cli_accepts(path: Path) -> None:
    """The unit's ExecStart, with its instance filled in, parses (run with --help)."""
    line = re.search(r"^ExecStart=(.+)$", path.read_text(encoding="utf-8"), re.M)
    assert line is not None
    command = shlex.split(line.group(1).replace("%i", "1").replace("%H", "host"))
    assert command[0] == "/opt/cycle-engine/bin/cycle-engine"
    result = subprocess.run(
        [sys.executable, "-m", "cycle_engine", *command[1:], "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_environment_file_loads_once_its_placeholders_are_replaced() -> None:
    """Every variable is one the settings read; with change-me left in, they are refused."""
    lines = (UNITS / "cycle-engine.env").read_text(encoding="utf-8").splitlines()
    env = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    assert all(name.startswith("CYCLE_ENGINE_") for name in env)
    with pytest.raises(InvalidInput, match="SECRET_KEY"):
        Settings.from_env(env)
    ready = {k: secrets.token_hex(32) if v == "change-me" else v for k, v in env.items()}
    settings = Settings.from_env(ready)
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.metrics_token == ready["CYCLE_ENGINE_METRICS_TOKEN"]
    mail = load_mail_settings(ready)
    assert mail.smtp is not None and mail.smtp.tls == "starttls"
    with pytest.raises(InvalidInput, match="METRICS_TOKEN"):
        Settings.from_env({**ready, "CYCLE_ENGINE_METRICS_TOKEN": "change-me"})
