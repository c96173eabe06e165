"""`cycle-engine learning ...` (issue 12): raise, propose and decide, follow-on, adopt, leave and
the alliance report from a shell; bad input prints one clear error and exits 1."""

from __future__ import annotations

from datetime import date

from typer.testing import CliRunner

from cycle_engine.cli import app

from .conftest import World
from .test_follow_on_adoption import finished_cycle

runner = CliRunner()


def _run(db_url: str, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, [*args, "--db", db_url])
    assert result.exit_code == code, result.output
    return result.output


def test_learning_commands_write_records_the_report_counts(world: World, db_url: str) -> None:
    """Commands record a raised question, a level decision, a follow-on, an adoption and an
    organisation leaving; the report printed afterwards counts the adoption."""
    source, _ = finished_cycle(world)
    running = world.start()
    alliance = str(world.alliance)
    out = _run(db_url, "learning", "raise", str(running), "Who pays?", "--reason", "Asked")
    assert "raised" in out
    out = _run(
        db_url, "learning", "propose", str(running), "prototype", str(world.ngo), "active",
        "--person", "carla@example.org",
    )  # fmt: skip
    proposal = out.split()[1].rstrip(":")
    assert _run(db_url, "learning", "decide", str(running), proposal).strip().endswith("confirmed")
    out = _run(db_url, "learning", "follow-on", str(source), "Second round")
    assert "2 question(s) carried" in out
    tool = world.engine.work.cycle_products(source, "prototype")[0].id
    _run(
        db_url, "learning", "adopt", alliance, str(tool), str(world.farmers), "adapted",
        "--country", "Guatemala", "--place", "Quiché", "--description", "Translated",
        "--on", "2025-05-01",
    )  # fmt: skip
    bad = _run(
        db_url, "learning", "adopt", alliance, str(tool), str(world.farmers), "borrowed",
        "--country", "Guatemala", "--place", "Quiché", "--description", "x", code=1,
    )  # fmt: skip
    assert "use: must be one of used, adapted" in bad
    _run(db_url, "learning", "leave", alliance, str(world.ngo), "--reason", "Merged", "--on",
         date(2025, 4, 1).isoformat())  # fmt: skip
    report = _run(db_url, "learning", "report", alliance)
    assert "| Market map (tool) | Market access | 0 | 1 | 0 | 1 | 1 (Guatemala) |" in report
    assert "- Fundación Tierra left on 2025-04-01: Merged" in report
    agenda = _run(db_url, "learning", "agenda", alliance)
    assert "[open] Who pays?" in agenda


def test_cycle_follow_unfollow_and_followers_from_a_shell(world: World, db_url: str) -> None:
    """A member with no role follows (by email or id), is listed, and stops; a person of
    another alliance is refused with the reason, and a manager may not add followers."""
    cycle = str(world.start())
    assert "nobody follows" in _run(db_url, "cycle", "followers", cycle)
    out = _run(db_url, "cycle", "follow", cycle, "dora@example.org")
    assert out.strip() == f"Dora Cruz follows cycle {cycle}"
    _run(db_url, "cycle", "follow", cycle, str(world.carla), "--person", "carla@example.org")
    listed = _run(db_url, "cycle", "followers", cycle)
    assert "Dora Cruz <dora@example.org>" in listed and "(by cli)" in listed
    assert "Carla Zelaya <carla@example.org>" in listed and "(by Carla Zelaya)" in listed
    refused = _run(db_url, "cycle", "follow", cycle, "omar@example.org", code=1)
    assert "not a member of alliance" in refused
    manager = _run(
        db_url, "cycle", "follow", cycle, "bruno@example.org", "--role", "manager", code=1
    )
    assert "managers read" in manager
    unknown = _run(db_url, "cycle", "follow", cycle, "nobody@example.org", code=1)
    assert "PERSON: no current person has the address 'nobody@example.org'" in unknown
    out = _run(db_url, "cycle", "unfollow", cycle, "dora@example.org")
    assert out.strip() == f"Dora Cruz no longer follows cycle {cycle}"
    again = _run(db_url, "cycle", "unfollow", cycle, "dora@example.org")
    assert again.strip() == f"Dora Cruz did not follow cycle {cycle}"
    people = [f.person_id for f in world.engine.learning.followers(int(cycle))]
    assert people == [world.carla]
