"""How fast the dashboard's overview and cycle list answer with 1,000,000 cycles in the database.

    python -m bench.dashboard [--smoke] [--cycles N]

Seeds one alliance with N cycles by bulk insert (a third of them overdue, one in ten stalled
with a stall flag) and refreshes the planner's statistics (ANALYZE: right after a bulk load
PostgreSQL has none and picks seconds-long plans). Then it times the queries behind the pages
on SQLite and, when CYCLE_ENGINE_TEST_POSTGRES_URL is set, on PostgreSQL: the overview figures,
the first and a deep page of the cycle list, the overdue and stalled filters, and the
stalled-steps page. The overview's four figures are timed twice: from the per-alliance counters
it reads (`engine.cycles.alliance_figures`) and by counting the cycles, as it did before.
Prints the median of a few runs of each; nothing here is a pass/fail timing (the test suite
checks the query plan instead).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text

from cycle_engine import CycleEngine
from cycle_engine.api.access import load_viewer
from cycle_engine.api.dashboard.rows import ListFilters, overview, page_of
from cycle_engine.cycles.listing import CycleFilter
from cycle_engine.store.schema import upgrade
from cycle_engine.store.tables import ACTIVE, FINISHED, CycleRecord, StageRecord, TemplateRecord
from cycle_engine.store.tables.timers import StallRecord
from cycle_engine.testing import ManualClock
from cycle_engine.testing_db import PostgresFactory

BATCH = 5_000


def seed(engine: CycleEngine, count: int) -> int:
    """One alliance, a manager, and `count` cycles with their open stage visits; the manager's
    person id."""
    engine.publish_builtin_templates()
    alliance = engine.alliances.create_alliance("Bench Alliance", "Scale")
    org = engine.alliances.add_organisation("Bench NGO", "ngo", "Kenya")
    assert alliance.id is not None and org.id is not None
    engine.alliances.join_alliance(alliance.id, org.id)
    person = engine.alliances.add_person("Bench Manager", "manager@bench.example.org", org.id)
    assert person.id is not None
    engine.alliances.grant_role(alliance.id, person.id, "manager")
    now = engine.clock.now()
    with engine.db.transaction() as session:
        template_id = session.execute(
            select(TemplateRecord.id).where(TemplateRecord.key == "learning-cycle")  # type: ignore[arg-type]
        ).scalar_one()
        cycles = CycleRecord.__table__  # type: ignore[attr-defined]
        visits = StageRecord.__table__  # type: ignore[attr-defined]
        for start in range(0, count, BATCH):
            size = min(BATCH, count - start)
            ids = (
                session.execute(
                    insert(cycles).returning(cycles.c.id),
                    [
                        {
                            "template_id": template_id,
                            "template_key": "learning-cycle",
                            "title": f"Cycle {start + n}",
                            "state": "prototype",
                            "status": "active",
                            "version": 3,
                            "started_at": now,
                            "updated_at": now,
                            "created_by": "bench",
                            "alliance_id": alliance.id,
                        }
                        for n in range(size)
                    ],
                )
                .scalars()
                .all()
            )
            visit_ids = session.execute(
                insert(visits).returning(visits.c.id, visits.c.cycle_id),
                [
                    {
                        "cycle_id": cycle_id,
                        "stage": "prototype",
                        "visit": 1,
                        "entered_at": now - timedelta(days=30),
                        "due_at": now + timedelta(days=-5 if cycle_id % 3 == 0 else 20),
                        "last_activity_at": now - timedelta(days=20),
                    }
                    for cycle_id in ids
                ],
            ).all()
            stalls = [
                {
                    "cycle_id": c,
                    "stage_visit_id": v,
                    "stage": "prototype",
                    "reason": "no_activity",
                    "detail": "no activity for 20 days",
                    "since": now - timedelta(days=6),
                }
                for v, c in visit_ids
                if c % 10 == 0
            ]
            if stalls:
                session.execute(insert(StallRecord.__table__), stalls)  # type: ignore[attr-defined]
        session.execute(
            text(
                "UPDATE cycles SET current_stage_id = (SELECT id FROM stage_visits "
                "WHERE stage_visits.cycle_id = cycles.id) WHERE created_by = 'bench'"
            )
        )
    return person.id


def median_ms(action: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(url: str, count: int, runs: int, label: str) -> None:
    upgrade(url)
    clock = ManualClock(datetime(2026, 3, 1, 12, tzinfo=UTC))
    with CycleEngine(url, clock=clock) as engine:
        started = time.perf_counter()
        person_id = seed(engine, count)
        print(f"{label}: seeded {count:,} cycles in {time.perf_counter() - started:.1f} s")
        with engine.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))  # fresh planner statistics, as autovacuum would give
        viewer = load_viewer(engine, person_id)
        assert viewer is not None
        alliance_id = next(iter(viewer.access.alliance_roles))
        deep_page = max(1, count // 50 // 2)

        def listing(filters: ListFilters, page: int = 1) -> Callable[[], Any]:
            return lambda: page_of(engine, filters.cycle_filter(viewer, alliance_id), page)

        scope = CycleFilter(alliance_id=alliance_id, reach=viewer.reach)

        def by_counting() -> tuple[int, ...]:
            return tuple(
                engine.cycles.count_cycles(replace(scope, **change))
                for change in (
                    {"status": ACTIVE},
                    {"status": FINISHED},
                    {"overdue": True},
                    {"stalled": True},
                )
            )

        counted = by_counting()
        kept = engine.cycles.alliance_figures(alliance_id)
        assert counted == (kept.active, kept.finished, kept.overdue, kept.stalled), counted
        checks: dict[str, Callable[[], Any]] = {
            "overview counters": lambda: engine.cycles.alliance_figures(alliance_id),
            "overview by counting (old)": by_counting,
            "overview page figures": lambda: overview(engine, viewer, alliance_id),
            "cycle list, page 1": listing(ListFilters()),
            f"cycle list, page {deep_page}": listing(ListFilters(), deep_page),
            "overdue filter, page 1": listing(ListFilters(flag="overdue")),
            "stalled filter, page 1": listing(ListFilters(flag="stalled")),
            "stalled steps": lambda: engine.timers.stalled(alliance_id, reach=viewer.reach),
        }
        figures = overview(engine, viewer, alliance_id)
        print(
            f"  overview says: {figures.active:,} active, {figures.overdue:,} overdue, "
            f"{figures.stalled:,} stalled"
        )
        for name, action in checks.items():
            print(f"  {name:<28} {median_ms(action, runs):8.1f} ms (median of {runs})")
        with engine.db.read_session() as session:
            total = session.execute(select(CycleRecord.id)).all()  # type: ignore[call-overload]
        assert len(total) >= count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="2,000 cycles so CI runs it fast")
    parser.add_argument("--cycles", type=int, default=None)
    args = parser.parse_args()
    count = args.cycles or (2_000 if args.smoke else 1_000_000)
    runs = 3 if args.smoke else 7
    with tempfile.TemporaryDirectory() as directory:
        measure(f"sqlite:///{Path(directory) / 'bench.db'}", count, runs, "sqlite")
    postgres = os.environ.get("CYCLE_ENGINE_TEST_POSTGRES_URL")
    if postgres:
        factory = PostgresFactory(postgres)
        try:
            measure(factory.new(), count, runs, "postgresql")
        finally:
            factory.close()


if __name__ == "__main__":
    main()
