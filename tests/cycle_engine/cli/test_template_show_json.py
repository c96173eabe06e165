"""`template show rapid-cycle --json` prints the whole template as JSON (issue 14: it printed
half, then `TypeError: Object of type timedelta is not JSON serializable`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).with_name("cycle-engine"))

pytestmark = pytest.mark.process


def test_template_show_json_is_complete_json_with_iso_durations(sqlite_url: str) -> None:
    """Every built-in template's JSON parses; durations are ISO 8601 text."""
    assert subprocess.run([CLI, "init", "--db", sqlite_url], capture_output=True).returncode == 0
    for key in ("rapid-cycle", "learning-cycle"):
        shown = subprocess.run(
            [CLI, "template", "show", key, "--json", "--db", sqlite_url],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert shown.returncode == 0, shown.stderr
        assert "Traceback" not in shown.stderr
        document = json.loads(shown.stdout)
        assert document["key"] == key
        durations = [stage["duration"] for stage in document["stages"] if stage.get("duration")]
        assert durations and all(d.startswith("P") for d in durations), durations
