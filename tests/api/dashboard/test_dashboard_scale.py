"""The cycle list pages through many cycles, and its query rides an index (never a timed test:
bench/dashboard.py measures the speed with 100,000 cycles)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, text
from sqlmodel import Session, select

from cycle_engine import CycleEngine
from cycle_engine.api.access import load_viewer
from cycle_engine.api.dashboard.rows import ListFilters
from cycle_engine.cycles import counts
from cycle_engine.cycles.listing import CycleFilter, cycles_query
from cycle_engine.store.tables import CycleRecord, StageRecord, TemplateRecord
from cycle_engine.store.tables.alliances import PersonRecord
from cycle_engine.testing import ManualClock
from tests.api.dashboard.conftest import DashboardServer, World, seed_world, sign_in

pytestmark = pytest.mark.slow


def bulk_cycles(engine: CycleEngine, alliance_id: int, count: int) -> None:
    """Insert `count` cycles in the question workshop, half of them past their deadline."""
    now = engine.clock.now()
    with engine.db.transaction() as session:
        template = session.exec(
            select(TemplateRecord).where(TemplateRecord.key == "learning-cycle")
        ).first()
        assert template is not None
        first = (
            session.execute(
                insert(CycleRecord.__table__).returning(  # type: ignore[attr-defined]
                    CycleRecord.__table__.c.id
                ),  # type: ignore[attr-defined]
                [
                    {
                        "template_id": template.id,
                        "template_key": "learning-cycle",
                        "title": f"Bulk cycle {n:05d}",
                        "state": "question_workshop",
                        "status": "active",
                        "version": 1,
                        "started_at": now,
                        "updated_at": now,
                        "created_by": "bench",
                        "alliance_id": alliance_id,
                    }
                    for n in range(count)
                ],
            )
            .scalars()
            .all()
        )
        session.execute(
            insert(StageRecord.__table__),
            [  # type: ignore[attr-defined]
                {
                    "cycle_id": cycle_id,
                    "stage": "question_workshop",
                    "visit": 1,
                    "entered_at": now,
                    "due_at": now + timedelta(days=-3 if cycle_id % 2 else 10),
                    "last_activity_at": now,
                }
                for cycle_id in first
            ],
        )
        session.execute(
            text(
                "UPDATE cycles SET current_stage_id = (SELECT id FROM stage_visits "
                "WHERE stage_visits.cycle_id = cycles.id) WHERE created_by = 'bench'"
            )
        )


def test_cycle_list_pages_through_many_cycles(
    dashboard: DashboardServer, dashboard_world: World, db_url: str, clock: ManualClock
) -> None:
    """120 extra cycles show 50 per page, newest first, with links to older and newer pages."""
    with CycleEngine(db_url, clock=clock) as engine:
        bulk_cycles(engine, dashboard_world.alliance_id, 120)
    client = sign_in(dashboard, dashboard_world.manager)
    base = f"/dashboard/alliances/{dashboard_world.alliance_id}/cycles"
    first = client.get(base)
    assert first.status_code == 200
    titles = re.findall(r"Bulk cycle (\d{5})", first.text)
    assert len(titles) == 50 and titles[0] == "00119"
    assert 'rel="next"' in first.text and 'rel="prev"' not in first.text
    last = client.get(base, params={"page": 3})
    assert len(re.findall(r"Bulk cycle \d{5}|Community seed systems", last.text)) == 21
    assert 'rel="next"' not in last.text
    overdue = client.get(base, params={"flag": "overdue"})
    assert "badge-overdue" in overdue.text and "badge-ontime" not in overdue.text
    partial = client.get(
        base, params={"page": 2}, headers={"HX-Request": "true", "HX-Target": "cycle-table"}
    )
    assert partial.text.lstrip().startswith('<div id="cycle-table">')
    assert client.get(base, params={"flag": "bogus"}).status_code == 422


def test_cycle_list_query_uses_an_index(sqlite_url: str, clock: ManualClock) -> None:
    """SQLite answers the list query through an index on cycles, never a full table scan."""
    with CycleEngine(sqlite_url, clock=clock) as engine:
        world = seed_world(engine)
        bulk_cycles(engine, world.alliance_id, 200)
        with engine.db.read_session() as session:
            person = session.exec(
                select(PersonRecord).where(PersonRecord.email == world.manager)
            ).one()
            assert person.id is not None
            viewer = load_viewer(engine, person.id)
            assert viewer is not None
            for flags in (ListFilters(), ListFilters(flag="overdue"), ListFilters(flag="stalled")):
                filters = flags.cycle_filter(viewer, world.alliance_id)
                query = cycles_query(filters, clock.now(), order="newest").limit(50)
                compiled = query.compile(engine.db.engine, compile_kwargs={"literal_binds": True})
                plan = " | ".join(
                    str(row[-1]) for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
                )
                assert "SCAN cycles" not in plan.replace("USING INDEX", "INDEX"), plan
                assert "ix_cycles_alliance_id" in plan, plan


#: What `Database.refresh_statistics` (a sampled ANALYZE) wrote at 1,000,000 cycles of one
#: alliance: it takes "cycles of this alliance" for about a thousand rows.
SAMPLED_STATISTICS = (
    ("cycles", "ix_cycles_status_state", "1091200 1001 1001"),
    ("cycles", "ix_cycles_alliance_id", "1043072 1001"),
    ("cycles", "ix_cycles_template_id", "1043072 1001"),
    ("cycles", "ix_cycles_template_key", "1089648 1001"),
    ("stall_flags", "ix_stall_flags_active_since", "96030 1001 1"),
    ("stall_flags", "ix_stall_flags_active", "85652 1 1"),
    ("stall_flags", "ix_stall_flags_stage_visit_id", "45158 1"),
    ("stage_visits", "ix_stage_visits_open_due", "513174 501 1"),
    ("stage_visits", "ix_stage_visits_cycle_id", "2533440 2"),
)


def test_short_lists_walk_their_index_whatever_sqlite_believes(
    sqlite_url: str, clock: ManualClock
) -> None:
    """The overview's short lists (overdue and upcoming by deadline, longest stalled) and its
    "due today" figure read their index in order and each cycle by key, so a page stops the
    walk; with the statistics SQLite had at 1,000,000 cycles it read every cycle of the
    alliance first (1.2 s a list) until the join fixed its order."""
    with CycleEngine(sqlite_url, clock=clock) as engine:
        world = seed_world(engine)
        bulk_cycles(engine, world.alliance_id, 50)
        with engine.db.transaction() as session:
            session.execute(text("ANALYZE"))
            session.execute(text("DELETE FROM sqlite_stat1"))
            for table, index, stat in SAMPLED_STATISTICS:
                session.execute(
                    text("INSERT INTO sqlite_stat1 VALUES (:t, :i, :s)"),
                    {"t": table, "i": index, "s": stat},
                )
        now = clock.now()
        scope = {"alliance_id": world.alliance_id, "status": "active"}
        lists = {
            "overdue": (CycleFilter(**scope, overdue=True), "due", "ix_stage_visits_open_due"),
            "upcoming": (
                CycleFilter(**scope, overdue=False, due_before=now + timedelta(days=14)),
                "due",
                "ix_stage_visits_open_due",
            ),
            "stalled": (CycleFilter(**scope, stalled=True), "stalled_since", "stall_flags"),
        }
        # a new engine: connections that read those statistics
        with CycleEngine(sqlite_url, clock=clock) as fresh, fresh.db.read_session() as session:
            for name, (filters, order, first) in lists.items():
                query = cycles_query(filters, now, order=order).limit(7)
                steps = _plan(session, fresh, query)
                assert first in steps[0], (name, steps)
                cycles = [step for step in steps if " cycles " in f"{step} "]
                assert cycles == ["SEARCH cycles USING INTEGER PRIMARY KEY (rowid=?)"], (
                    name,
                    steps,
                )
                assert not any("TEMP B-TREE" in step for step in steps), (name, steps)
            figures = _plan(session, fresh, counts._FIGURES)
            due_today = [s for s in figures if "stage_visits" in s or " cycles " in f"{s} "]
            assert "ix_stage_visits_open_due" in due_today[0], figures
            assert "rowid=?" in due_today[1], figures


def _plan(session: Session, engine: CycleEngine, query: Any) -> list[str]:
    """The steps of SQLite's plan for `query` (its parameters unbound: a plan, not a run)."""
    compiled = query.compile(engine.db.engine)
    unbound = tuple(None for _ in compiled.positiontup or ())
    plan = session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", unbound)
    return [str(row[-1]) for row in plan]
