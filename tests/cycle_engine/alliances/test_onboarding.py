"""Bulk onboarding in the engine and from the shell (issue 19, item 3): the demo's partner list is
a file of the import's own format, loaded through it; the CLI imports a file all or nothing and
prints every problem with its row and column."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cycle_engine.alliances.onboarding_files import ImportRejected, parse
from cycle_engine.cli import app
from cycle_engine.demo.seed import PARTNER_LIST, partner_list

from .conftest import World

runner = CliRunner()


def test_the_demo_partner_list_is_the_shipped_file() -> None:
    """The file the demo imports is the partner list `demo.data` describes (19 + 57)."""
    assert PARTNER_LIST.read_text(encoding="utf-8") == partner_list()
    organisations, persons = parse(PARTNER_LIST.read_bytes(), "text/csv")
    assert len(organisations) == 76 and len(persons) == 95
    assert sum("works_with" in row.values for row in organisations) == 57


def test_cli_imports_all_or_nothing(world: World, db_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "record,name,kind,country,email,organisation\n"
        "organisation,Coop Sur,local,Peru,,\n"
        "person,Ema,,,ema@sur.example,Coop Norte\n",
        encoding="utf-8",
    )
    refused = runner.invoke(
        app, ["alliance", "import", str(world.alliance), str(bad), "--db", db_url]
    )
    assert refused.exit_code == 1
    assert "row 3, organisation: 'Coop Norte' is neither in the file nor a member" in refused.output
    assert world.engine.alliances.find_alliance("Coop Sur") is None
    assert "Coop Sur" not in [o.name for o in world.engine.alliances.list_organisations()]
    good = tmp_path / "good.json"
    good.write_text(
        '{"organisations": [{"name": "Coop Sur", "kind": "local", "country": "Peru"}],'
        ' "people": [{"name": "Ema", "email": "ema@sur.example", "organisation": "Coop Sur"}]}',
        encoding="utf-8",
    )
    done = runner.invoke(
        app, ["alliance", "import", str(world.alliance), str(good), "--db", db_url]
    )
    assert done.exit_code == 0, done.output
    assert "1 organisations created, 1 seated" in done.output and "1 people" in done.output
    again = runner.invoke(
        app, ["alliance", "import", str(world.alliance), str(good), "--db", db_url]
    )
    assert "2 unchanged" in again.output


def test_an_unreadable_file_names_the_line() -> None:
    with pytest.raises(ImportRejected) as rejected:
        parse(b'{"organisations": [', "application/json")
    assert rejected.value.errors[0].column == "file"
    assert "not JSON" in rejected.value.errors[0].message
