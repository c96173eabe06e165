"""The README's quick start works as written (issue 14): one PORT for `serve` and the printed
links, how to send the API key, and every environment variable the code reads is listed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SOURCES = [ROOT / "api", ROOT / "notifications", ROOT / "cycle_engine"]


def _variables_in_code() -> set[str]:
    found: set[str] = set()
    for folder in SOURCES:
        for path in folder.rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            found.update(re.findall(r"\b(CYCLE_ENGINE_[A-Z][A-Z_]*[A-Z])\b", text))
            found.update(f"CYCLE_ENGINE_{n}" for n in re.findall(r'PREFIX \+ "([A-Z_]+)"', text))
    from cycle_engine.api.settings import _FIELDS

    found.update(f"CYCLE_ENGINE_{name.upper()}" for name in _FIELDS)
    return found - {"CYCLE_ENGINE_TEST_POSTGRES_URL"}


def _listed(variable: str) -> bool:
    """Named in full, or as a `_SUFFIX` beside a sibling (`CYCLE_ENGINE_SMTP_HOST` / `_PORT`)."""
    if variable in README:
        return True
    words = variable.removeprefix("CYCLE_ENGINE_").split("_")
    return any(f"`_{'_'.join(words[i:])}`" in README for i in range(len(words)))


def test_readme_lists_every_environment_variable_the_code_reads() -> None:
    """A variable added to the code without a line in the README fails here."""
    missing = sorted(v for v in _variables_in_code() if not _listed(v))
    assert missing == []


def test_readme_says_how_to_send_the_api_key_and_change_the_port() -> None:
    """The two things a new user could not find: the bearer header and `make run PORT=...`."""
    assert "Authorization: Bearer" in README
    assert "make run PORT=" in README


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_run_passes_one_port_to_serve_and_the_printed_links() -> None:
    """`make -n run PORT=8123` (commands printed, not run): the sign-in link and `serve` agree."""
    planned = subprocess.run(
        ["make", "-n", "-W", "pyproject.toml", "run", "PORT=8123"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    signin = next(line for line in planned.splitlines() if "signin-link" in line)
    serve = next(line for line in planned.splitlines() if "cycle-engine serve" in line)
    assert "--base-url http://127.0.0.1:8123" in signin
    assert "--port 8123" in serve and "--host 127.0.0.1" in serve
