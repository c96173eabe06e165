"""The README's "Embedding" section, followed by a small host app (tests/host_app/project): its
own FastAPI app and `api` package, its own guard, listener and after-commit subscriber, the
engine mounted under /ce, and its own clock in its tests. Its suite runs as the host runs it: in
a process whose path has the host's folder and not this repository."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.host_app.conftest import HostProject


@pytest.mark.process
def test_host_app_suite_passes_beside_the_engine(host_project: HostProject) -> None:
    """The host's own tests pass with the host's `api` package first on the path."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "tests"],
        cwd=host_project.root,
        env=host_project.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b4 passed\b", done.stdout), done.stdout
