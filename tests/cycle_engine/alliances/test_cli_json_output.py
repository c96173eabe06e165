"""Every `--json` output of the CLI is one JSON document: dates, datetimes and durations (as
ISO 8601, durations as templates write them) included; `person add --json` prints the person
instead of half a document and a traceback."""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from cycle_engine.cli import app
from cycle_engine.cli.common import to_plain

runner = CliRunner()


class Colour(Enum):
    RED = "red"


@dataclass(frozen=True)
class Sample:
    due: date
    lasts: timedelta


def test_to_plain_makes_every_value_serialisable() -> None:
    """The types rows, specs and reports hold all become JSON values, and nothing else fails."""
    value = {
        "day": date(2026, 5, 31),
        "at": time(9, 30),
        "lasts": timedelta(weeks=3),
        "back": timedelta(days=-7),
        "amount": Decimal("12.50"),
        "count": Decimal("3"),
        "colour": Colour.RED,
        "where": Path("/tmp/x"),
        "id": uuid.UUID(int=1),
        "raw": b"\x00\xff",
        "tags": frozenset({"b", "a"}),
        "sample": Sample(date(2026, 1, 2), timedelta(hours=4)),
        "nan": math.nan,
        1: (1, 2),
        "other": object(),
    }
    plain = json.loads(json.dumps(to_plain(value), allow_nan=False))
    assert plain["day"] == "2026-05-31" and plain["at"] == "09:30:00"
    assert plain["lasts"] == "P3W" and plain["back"] == "-P1W"
    assert plain["amount"] == 12.5 and plain["count"] == 3
    assert plain["colour"] == "red" and plain["where"] == "/tmp/x"
    assert plain["id"] == "00000000-0000-0000-0000-000000000001"
    assert plain["raw"] == "AP8=" and plain["tags"] == ["a", "b"]
    assert plain["sample"] == {"due": "2026-01-02", "lasts": "PT4H"}
    assert plain["nan"] == "nan" and plain["1"] == [1, 2]
    assert plain["other"].startswith("<object object")


def _json(db_url: str, *args: str, db: bool = True) -> Any:
    result = runner.invoke(app, [*args, *(["--db", db_url] if db else []), "--json"])
    assert result.exit_code == 0, (args, result.output)
    return json.loads(result.stdout)


def _json_commands() -> list[tuple[tuple[str, ...], bool]]:
    """Every command taking `--json` whose only required arguments are ids, and whether it
    takes `--db` (the others read the database from the environment)."""
    found: list[tuple[tuple[str, ...], bool]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        if hasattr(command, "list_commands"):  # a group (typer's click, whichever it is)
            context = type(command).context_class(command)
            for name in command.list_commands(context):
                sub = command.get_command(context, name)
                if sub is not None:
                    walk(sub, (*path, name))
            return
        if not any("--json" in getattr(p, "opts", ()) for p in command.params):
            return
        required = [p for p in command.params if p.required]
        if all(not p.opts[0].startswith("-") and p.name.endswith("_id") for p in required):
            takes_db = any("--db" in getattr(p, "opts", ()) for p in command.params)
            found.append(((*path, *("1" for _ in required)), takes_db))

    walk(typer.main.get_command(app), ())
    return found


def test_person_add_prints_one_json_document(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`person add --json` (a date in the row) prints the person as JSON and exits 0."""
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["init", "--db", db_url]).exit_code == 0
    org = _json(db_url, "org", "add", "Semillas", "--kind", "ngo", "--country", "Peru")
    person = _json(
        db_url, "person", "add", "Ana", "ana@semillas.example.org", "--org", str(org["id"])
    )
    assert person["email"] == "ana@semillas.example.org"
    assert date.fromisoformat(person["joined_on"])


def test_every_json_command_prints_json_on_the_demo_alliance(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the demo alliance (cycles with roles, plans, products, contexts, learning), every
    `--json` command that takes ids prints a JSON document; the template's durations read as
    their authors wrote them."""
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["init", "--db", db_url]).exit_code == 0
    assert runner.invoke(app, ["demo", "--db", db_url]).exit_code == 0
    commands = _json_commands()
    assert len(commands) >= 15
    monkeypatch.setenv("CYCLE_ENGINE_DATABASE_URL", db_url)
    for command, takes_db in commands:
        _json(db_url, *command, db=takes_db)
    spec = _json(db_url, "template", "show", "learning-cycle")
    assert spec["stages"][0]["duration"] == "P3W"
