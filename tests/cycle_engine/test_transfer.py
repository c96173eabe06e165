"""Moving an alliance between installations: the demo alliance (76 organisations, their people,
cycles at every stage with history, products, contexts, learning and timers) exported from one
database and imported into an empty one of the other kind comes back the same, ids aside; the
imported cycles keep working; an import that clashes changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cycle_engine import CycleEngine
from cycle_engine.cli import app
from cycle_engine.demo import run_demo
from cycle_engine.errors import InvalidInput
from cycle_engine.store.tables.timers import FIRED, PENDING
from cycle_engine.testing_db import PostgresFactory, SqliteFactory
from cycle_engine.transfer import export_alliance, export_cycle, import_document
from cycle_engine.transfer.document import TABLES, foreign_keys, remap_data

#: Columns derived from ids (rebuilt on import) or from the moment of publishing.
DERIVED = {"timers": {"dedupe_key"}}


def canonical(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The document's rows with every id (own, foreign, inside JSON) replaced by the row's
    position in its table, so two documents of the same data compare equal."""
    tables = document["tables"]
    position = {
        name: {row["id"]: i for i, row in enumerate(tables[name]) if "id" in row} for name in TABLES
    }
    result: dict[str, list[dict[str, Any]]] = {}
    for name in TABLES:
        references = foreign_keys(name)
        rows = []
        for row in tables[name]:
            plain = {k: v for k, v in row.items() if k != "id" and k not in DERIVED.get(name, ())}
            for column, parent in references.items():
                if plain.get(column) is not None:
                    plain[column] = position[parent][plain[column]]
            for column in ("data", "payload"):
                if column in plain:
                    plain[column] = remap_data(plain[column], position)
            rows.append(plain)
        result[name] = rows
    return result


@pytest.fixture(scope="module")
def databases(
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_factory: SqliteFactory,
    postgres_factory: PostgresFactory | None,
) -> Iterator[dict[str, str]]:
    """A demo database and an empty one on each backend."""
    if postgres_factory is None:
        pytest.skip("set CYCLE_ENGINE_TEST_POSTGRES_URL: the round trip crosses databases")
    made = {
        "sqlite": sqlite_factory.new(tmp_path_factory.mktemp("demo")),
        "postgresql": postgres_factory.new(),
        "sqlite-empty": sqlite_factory.new(tmp_path_factory.mktemp("empty")),
        "postgresql-empty": postgres_factory.new(),
    }
    for backend in ("sqlite", "postgresql"):
        run_demo(made[backend], lambda _line: None)
    yield made
    for key in ("postgresql", "postgresql-empty"):
        postgres_factory.drop(made[key])


@pytest.mark.parametrize(("source", "target"), [("sqlite", "postgresql"), ("postgresql", "sqlite")])
def test_alliance_round_trip_between_databases(
    databases: dict[str, str], source: str, target: str
) -> None:
    """Export from one backend, import into an empty database of the other, export again: the
    two documents hold the same rows, ids aside, and every row of every table came across."""
    with CycleEngine(databases[source]) as engine:
        alliance_id = engine.alliances.list_alliances()[0].id
        assert alliance_id is not None
        exported = json.loads(json.dumps(export_alliance(engine, alliance_id)))
    counts = {name: len(rows) for name, rows in exported["tables"].items()}
    assert counts["cycles"] >= 4 and counts["events"] > 50 and counts["organisations"] >= 70
    assert counts["products"] and counts["test_contexts"] and counts["learning_entries"]
    with CycleEngine(databases[f"{target}-empty"]) as engine:
        report = import_document(engine, exported)
        assert report.rows == {name: n for name, n in counts.items() if n}
        again = export_alliance(engine, report.new_id("alliances", alliance_id))
        assert canonical(again) == canonical(exported)
        _imported_cycles_work(engine, report.ids["cycles"].values())


def _imported_cycles_work(engine: CycleEngine, cycle_ids: Any) -> None:
    """The imported cycles list, explain their triggers, and their timers fire once here."""
    for cycle_id in cycle_ids:
        assert engine.get_cycle(cycle_id).id == cycle_id
        engine.available_triggers(cycle_id)
        timers = engine.timers.list_timers(cycle_id)
        assert {t.status for t in timers} <= {PENDING, FIRED, "cancelled", "dropped"}
        assert all(t.dedupe_key.startswith(f"c{cycle_id}/") for t in timers)
    assert engine.overdue() or engine.stalled()  # the demo's overdue and stalled cycles came along


def test_import_refuses_an_alliance_already_here_and_changes_nothing(
    databases: dict[str, str],
) -> None:
    """Importing the demo alliance into a database that has it names the clash; no row added."""
    with CycleEngine(databases["sqlite"]) as engine:
        alliance_id = engine.alliances.list_alliances()[0].id
        assert alliance_id is not None
        document = export_alliance(engine, alliance_id)
        before = len(engine.cycles.list_cycles(limit=1000))
        with pytest.raises(InvalidInput, match="already exist here: alliance"):
            import_document(engine, document)
        assert len(engine.cycles.list_cycles(limit=1000)) == before


def test_cycle_round_trip_with_the_cli(databases: dict[str, str], tmp_path: Path) -> None:
    """`export cycle ID FILE` then `import FILE` into an empty database carries the cycle, its
    template and history, its alliance and the people its rows name."""
    with CycleEngine(databases["postgresql"]) as engine:
        cycle = engine.cycles.list_cycles(limit=1)[0]
        assert cycle.id is not None
        history = [(e.kind, e.trigger, e.to_state) for e in engine.history(cycle.id)]
    path = tmp_path / "cycle.json"
    runner = CliRunner()
    out = runner.invoke(
        app, ["export", "cycle", str(cycle.id), str(path), "--db", databases["postgresql"]]
    )
    assert out.exit_code == 0, out.output
    empty = databases["sqlite-empty"].replace("cycles.db", "cycle-only.db")
    assert runner.invoke(app, ["init", "--db", empty, "--no-builtins"]).exit_code == 0
    out = runner.invoke(app, ["import", str(path), "--db", empty])
    assert out.exit_code == 0, out.output
    with CycleEngine(empty) as engine:
        (copy,) = engine.cycles.list_cycles()
        assert copy.id is not None and (copy.title, copy.state) == (cycle.title, cycle.state)
        assert [(e.kind, e.trigger, e.to_state) for e in engine.history(copy.id)] == history
    assert json.loads(path.read_text())["scope"] == {
        "kind": "cycle",
        "id": cycle.id,
        "title": cycle.title,
    }
    with CycleEngine(databases["postgresql"]) as engine:
        assert export_cycle(engine, cycle.id)["tables"]["cycles"][0]["title"] == cycle.title
