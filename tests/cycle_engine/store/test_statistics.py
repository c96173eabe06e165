"""The planner's statistics: SQLite has none until ANALYZE runs, and then plans the dashboard's
lists as scans of every cycle; the server refreshes them as it starts."""

from __future__ import annotations

from sqlalchemy import text

from cycle_engine import CycleEngine


def _analyzed(engine: CycleEngine) -> set[str]:
    with engine.db.read_session() as session:
        tables = session.connection().execute(
            text("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
        )
        if tables.first() is None:
            return set()
        return {
            row[0] for row in session.connection().execute(text("SELECT tbl FROM sqlite_stat1"))
        }


def test_refresh_gives_sqlite_statistics_of_the_engines_tables(builtin_engine: CycleEngine) -> None:
    engine = builtin_engine
    for n in range(3):
        engine.start_cycle("learning-cycle", f"Ciclo {n}", standalone=True)
    engine.db.refresh_statistics()
    if engine.db.is_sqlite:
        assert {"cycles", "stage_visits", "timers"} <= _analyzed(engine)
    engine.db.refresh_statistics()  # again, and on PostgreSQL: nothing to do, nothing raised
