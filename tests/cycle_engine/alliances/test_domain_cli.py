"""The `cycle-engine alliance|org|person|cycle ...` commands drive the domain from a shell:
each prints what changed, and a bad input prints one clear error and exits 1."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cycle_engine.cli import app

from .conftest import COORDINATOR, World

runner = CliRunner()


def _run(db_url: str, *args: str) -> str:
    result = runner.invoke(app, [*args, "--db", db_url])
    assert result.exit_code == 0, result.output
    return result.output


def _id(output: str, word: str) -> str:
    match = re.search(rf"{word} (\d+)", output)
    assert match, output
    return match.group(1)


def test_cli_runs_a_cycle_with_roles_plan_products_and_report(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From the shell: alliance, organisation, person, cycle, roles, plan, product, report."""
    monkeypatch.chdir(tmp_path)
    _run(db_url, "init")
    alliance = _id(
        _run(
            db_url,
            "alliance",
            "create",
            "Alianza CLI",
            "--theme",
            "Seeds",
            "--timezone",
            "America/Managua",
            "--language",
            "es",
        ),
        "alliance",
    )
    org = _id(
        _run(
            db_url,
            "org",
            "add",
            "Semillas Vivas",
            "--kind",
            "ngo",
            "--country",
            "Nicaragua",
            "--alliance",
            alliance,
        ),
        "organisation",
    )
    person = _id(
        _run(
            db_url,
            "person",
            "add",
            "Juana Ruiz",
            "juana@semillas.example.org",
            "--org",
            org,
            "--language",
            "es",
        ),
        "person",
    )
    cycle = _id(
        _run(
            db_url,
            "cycle",
            "start",
            "rapid-cycle",
            "Seed banks",
            "--alliance",
            alliance,
            "--question",
            "Do seed banks keep native beans?",
        ),
        "cycle",
    )
    for stage in ("quick_review", "prototype", "field_test", "documentation"):
        _run(db_url, "cycle", "assign", cycle, stage, org, "lead", "--focal-point", person)
    roles = _run(db_url, "cycle", "roles", cycle)
    assert [line for line in roles.splitlines() if line.startswith("lacking")] == [
        "lacking: kickoff: no lead organisation"
    ]
    _run(db_url, "cycle", "fire", cycle, "kickoff_done")
    due = (date.today() + timedelta(days=30)).isoformat()  # the CLI runs on the system clock
    moved = _run(
        db_url, "cycle", "plan", "move", cycle, "quick_review", due, "--reason", "Harvest week"
    )
    assert "quick_review" in moved
    review = tmp_path / "review.md"
    review.write_text("# Review\n\nSeed banks in Estelí.\n", encoding="utf-8")
    _run(
        db_url,
        "cycle",
        "product",
        "add",
        cycle,
        "good_practice_review",
        "Seed bank review",
        "--author",
        org,
        "--file",
        str(review),
    )
    _run(db_url, "cycle", "fire", cycle, "review_completed")
    assert list((tmp_path / "data" / "products").rglob("*review.md"))
    report = _run(db_url, "cycle", "report", cycle)
    assert "Seed bank review" in report and "Harvest week" in report
    assert "Semillas Vivas" in _run(db_url, "alliance", "show", alliance)


def test_cli_bad_input_is_one_line_and_exit_1(db_url: str) -> None:
    """An unknown organisation and a bad time zone each print one error line and exit 1."""
    runner.invoke(app, ["init", "--db", db_url])
    result = runner.invoke(
        app,
        ["alliance", "create", "X", "--theme", "T", "--timezone", "Mars/Olympus", "--db", db_url],
    )
    assert result.exit_code == 1
    assert "timezone: unknown time zone 'Mars/Olympus'" in result.output
    result = runner.invoke(app, ["alliance", "join", "1", "42", "--db", db_url])
    assert result.exit_code == 1
    assert "error: alliance 1 not found" in result.output


def test_lead_partner_acts_from_the_cli_as_a_person(world: World) -> None:
    """`--role lead` is refused with the explanation of the two kinds of roles; acting as a
    person of the lead organisation (`--person EMAIL`) fires a trigger reserved to the lead."""
    db_url = world.engine.db.url
    cycle = world.start()
    world.engine.work.assign(
        cycle, "question_workshop", world.ngo, "lead", focal_point_id=world.carla, actor=COORDINATOR
    )
    refused = runner.invoke(
        app, ["cycle", "fire", str(cycle), "questions_agreed", "--role", "lead", "--db", db_url]
    )
    assert refused.exit_code == 1
    assert "'lead' is a level an organisation holds on a stage" in refused.output
    assert "--person" in refused.output
    fire = ["cycle", "fire", str(cycle), "questions_agreed", "--db", db_url]
    outsider = runner.invoke(app, [*fire, "--person", "dora@example.org"])
    assert outsider.exit_code == 1 and "only coordinator, lead may fire" in outsider.output
    fired = _run(
        db_url, "cycle", "fire", str(cycle), "questions_agreed", "--person", "carla@example.org"
    )
    assert "question_workshop -> role_assignment" in fired
    assert world.engine.history(cycle)[-1].actor == "Carla Zelaya"
