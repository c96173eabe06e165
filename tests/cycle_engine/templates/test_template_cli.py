"""`cycle-engine template copy|diff|migrate|retire` run for real, as the README's coordinator
runs them: copy the learning cycle into the alliance, lengthen a stage and add one, read the
difference, preview the migration (nothing changes), apply it with progress, see the version."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cycle_engine.templates.helpers import duration, edited, stage_after

# About twenty real CLI runs, each paying the CLI's start-up: over the default 120 s on a
# slow machine (it passed 120 s in one CI run; 59-68 s alone on a quiet one).
pytestmark = [pytest.mark.process, pytest.mark.timeout(300)]

CLI = str(Path(sys.executable).with_name("cycle-engine"))


def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([CLI, *args], capture_output=True, text=True, timeout=120)
    if ok:
        assert result.returncode == 0, result.stderr
    return result


def test_a_coordinator_changes_the_alliances_template_and_moves_its_cycles(
    db_url: str, tmp_path: Path
) -> None:
    """The README's steps, end to end on the command line."""
    db = ("--db", db_url)
    run("template", "publish", "workflows/learning_cycle.yaml", *db)
    run(
        "alliance",
        "create",
        "Alianza",
        "--theme",
        "Markets",
        "--timezone",
        "America/Guatemala",
        *db,
    )
    for title in ("Seeds", "Water"):
        run("cycle", "start", "learning-cycle", title, "--alliance", "1", "--question", "Q?", *db)
    copied = run("template", "copy", "learning-cycle", "alianza-cycle", "--alliance", "1", *db)
    assert copied.stdout.strip() == "copied learning-cycle into alliance 1 as alianza-cycle v1"
    source = run("template", "source", "alianza-cycle", "--alliance", "1", *db).stdout
    assert source.startswith("# The CIAT Learning Alliance learning cycle")
    changed = tmp_path / "alianza-cycle.yaml"
    changed.write_text(
        edited(
            source,
            duration("question_workshop", "P5W"),
            stage_after(
                "multi_context_testing",
                "reflection",
                "Reflection",
                "P2W",
                leaving="testing_completed",
            ),
        )
    )
    published = run("template", "publish", str(changed), "--alliance", "1", *db)
    assert published.stdout.startswith("published alianza-cycle v2 (alliance 1,")
    diff = run("template", "diff", "alianza-cycle", "1", "2", *db).stdout
    assert "- “Question workshop” now lasts 5 weeks (was 3 weeks)." in diff
    dry = run(
        "template",
        "migrate",
        "alianza-cycle",
        "--alliance",
        "1",
        "--from-key",
        "learning-cycle",
        "--dry-run",
        *db,
    ).stdout
    when = r"\w{3} \d{1,2} \w{3} \d{4}, 17:00"  # the end of the working day in Guatemala
    assert re.search(f"deadline of Question workshop: {when} → {when}", dry), dry
    assert "2 cycles would migrate, 0 cannot, 0 already on alianza-cycle v2" in dry
    assert "nothing changed; to apply: template migrate alianza-cycle --plan 1 --apply" in dry
    shown = run("cycle", "show", "1", *db).stdout
    assert "template learning-cycle v1" in shown
    applied = run("template", "migrate", "alianza-cycle", "--plan", "1", "--apply", *db)
    assert "migrated 2 cycles to alianza-cycle v2" in applied.stdout
    assert "2/2 cycles done" in applied.stderr
    assert "template alianza-cycle v2" in run("cycle", "show", "1", *db).stdout
    assert "reflection" in run("cycle", "plan", "show", "1", *db).stdout.lower()
    assert "template_migrated" in run("cycle", "history", "1", *db).stdout
    again = json.loads(
        run("template", "migrate", "alianza-cycle", "--plan", "1", "--apply", "--json", *db).stdout
    )
    assert again["migrated"] == [] and len(again["skipped"]) == 2
    retired = run("template", "retire", "alianza-cycle", "--version", "1", "--alliance", "1", *db)
    assert retired.stdout.strip() == "retired alianza-cycle v1"
    listed = run("template", "list", "--alliance", "1", *db).stdout
    assert "alianza-cycle v1" in listed and "retired" in listed


def test_migrate_needs_dry_run_or_apply(db_url: str) -> None:
    """Without --dry-run or --apply nothing is guessed: a one-line error."""
    refused = run("template", "migrate", "learning-cycle", "--db", db_url, ok=False)
    assert refused.returncode == 1
    assert "choose --dry-run (preview, changes nothing) or --apply" in refused.stderr
