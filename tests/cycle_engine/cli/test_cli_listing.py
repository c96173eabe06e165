"""`cycle list` reads through the database driver alone, and lists exactly what the engine's one
list of cycles (`cycles_query`) lists for the same filters, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from cycle_engine import Actor, CycleEngine
from cycle_engine.cli import listing
from cycle_engine.cycles.listing import CycleFilter, cycles_query

COORDINATOR = Actor(name="Ana Pérez", role="coordinator")
FILTERS: list[dict[str, Any]] = [
    {},
    {"status": "active"},
    {"status": "finished"},
    {"state": "cancelled"},
    {"state": "question_workshop"},
    {"template_key": "rapid-cycle"},
    {"state": "question_workshop", "template_key": "learning-cycle", "status": "active"},
    {"state": "no_such_stage"},
]


def _world(engine: CycleEngine) -> None:
    for n in range(4):
        engine.start_cycle("learning-cycle", f"Ciclo {n}: café", standalone=True)
    quick = engine.start_cycle("rapid-cycle", "Precios por SMS", standalone=True)
    engine.fire(quick.id, "cancel", actor=COORDINATOR, note="Merged with cycle 2")


def _through_engine(
    engine: CycleEngine, filters: dict[str, Any], limit: int, offset: int
) -> list[Any]:
    query = cycles_query(CycleFilter(**filters), engine.clock.now())
    with engine.db.read_session() as session:
        return [row[0] for row in session.exec(query.offset(offset).limit(limit))]


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: ",".join(f) or "all")
def test_the_driver_lists_what_the_engine_lists(
    builtin_engine: CycleEngine,
    db_url: str,
    filters: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Same rows, same order, same values (times as aware UTC), through the driver only."""
    _world(builtin_engine)

    def no_store(*_: Any) -> None:
        raise AssertionError("the list went through the store")

    monkeypatch.setattr(listing, "_read_through_store", no_store)
    for limit, offset in ((100, 0), (2, 1)):
        rows = listing.read_listing(db_url, limit=limit, offset=offset, **_options(filters))
        expected = _through_engine(builtin_engine, filters, limit, offset)
        assert [r["id"] for r in rows] == [c.id for c in expected]
        for row, cycle in zip(rows, expected, strict=True):
            assert {c: row[c] for c in listing.COLUMNS} == {
                c: getattr(cycle, c) for c in listing.COLUMNS
            }
            assert row["template"] == f"{cycle.template_key} v1"
            assert row["started_at"].utcoffset() is not None


def test_the_store_reads_when_the_driver_cannot(tmp_path: Any) -> None:
    """A missing SQLite file is not created by the driver; the store's read names the cause."""
    missing = tmp_path / "missing.db"
    with pytest.raises(Exception, match="schema is empty"):
        listing.read_listing(
            f"sqlite:///{missing}", state=None, status=None, template_key=None, limit=5, offset=0
        )


def _options(filters: dict[str, Any]) -> dict[str, Any]:
    return {"state": None, "status": None, "template_key": None, **filters}
