"""How fast workers claim and fire timers with 1,000,000 pending rows in the table.

    python -m bench.timers [--smoke] [--pending N]

On SQLite and (when CYCLE_ENGINE_TEST_POSTGRES_URL is set) PostgreSQL: builds N pending timers
(enough due now for the runs, the rest spread over two years) with one INSERT ... SELECT,
prints the claim query's plan, times claiming 100 due timers (p50/p95 over repeats, each a
full claim transaction), then times firing due timers end to end (claim, fire each in its own
transaction with its event and listeners, mark fired) and prints timers fired per second.
Figures only: nothing here asserts a timing. `--smoke` uses 10,000 pending rows.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.fire_rate import Floor, postgres_floor, sqlite_floor
from cycle_engine import CycleEngine
from cycle_engine.scheduler.claim import CLAIM, DEFAULT_LEASE, claim_due_timers, claim_query
from cycle_engine.scheduler.worker import Worker, WorkerSettings
from cycle_engine.store.schema import upgrade
from cycle_engine.testing import ManualClock
from cycle_engine.testing_db import PostgresFactory

PLAIN = """
key: bench-plain
title: Bench stages without rules
initial: work
stages:
  - {key: work, title: Work, duration: P52W, reminders: [], overdue: null, stall: null}
  - {key: done, title: Done, final: true}
transitions:
  - {trigger: finish, from: work, to: done}
"""
CYCLES = 100
#: The floor's "now": the ManualClock's default start, naive (as both drivers store it).
NOW_FLOOR = ManualClock().now().replace(tzinfo=None)

_COLUMNS = (
    "kind, cycle_id, stage_visit_id, stage, rule, occurrence, due_at, status, late, "
    "created_at, attempts, dedupe_key, payload"
)

SQLITE_FILL = f"""
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :count)
INSERT INTO timers ({_COLUMNS})
SELECT 'reminder', c.id, c.current_stage_id, 'work', 'bench' || n, 1,
       CASE WHEN n <= :due
            THEN strftime('%Y-%m-%d %H:%M:%f000', :now, '-' || (n % 600) || ' seconds')
            ELSE strftime('%Y-%m-%d %H:%M:%f000', :now, '+' || (n % 1000000) || ' minutes') END,
       'pending', 0, :now, 0, 'bench/' || n, '{{"late_policy": "send_latest", "to": []}}'
FROM seq JOIN cycles c ON c.id = (SELECT min(id) FROM cycles) + n % :cycles
"""

POSTGRES_FILL = f"""
INSERT INTO timers ({_COLUMNS})
SELECT 'reminder', c.id, c.current_stage_id, 'work', 'bench' || n, 1,
       CASE WHEN n <= :due THEN CAST(:now AS timestamptz) - (n % 600) * interval '1 second'
            ELSE CAST(:now AS timestamptz) + (n % 1000000) * interval '1 minute' END,
       'pending', false, CAST(:now AS timestamptz), 0, 'bench/' || n,
       CAST('{{"late_policy": "send_latest", "to": []}}' AS json)
FROM generate_series(1, :count) AS n
JOIN cycles c ON c.id = (SELECT min(id) FROM cycles) + n % :cycles
"""


def fill(engine: CycleEngine, pending: int, due: int) -> float:
    """Create the cycles and `pending` timers, `due` of them due now; returns seconds taken."""
    started = time.perf_counter()
    for number in range(CYCLES):
        engine.start_cycle("bench-plain", f"Bench cycle {number}", standalone=True)
    now = engine.clock.now()
    sql = SQLITE_FILL if engine.db.is_sqlite else POSTGRES_FILL
    stamp = now.strftime("%Y-%m-%d %H:%M:%S") if engine.db.is_sqlite else now.isoformat()
    with engine.db.transaction() as session:
        session.execute(text(sql), {"count": pending, "due": due, "now": stamp, "cycles": CYCLES})
    with engine.db.engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()
    return time.perf_counter() - started


def plan(engine: CycleEngine) -> str:
    """The plan of the claim (one UPDATE ... WHERE id IN (SELECT ... LIMIT 100) RETURNING)."""
    query = claim_query(engine.clock.now(), 100, lock=engine.db.is_postgresql)
    with engine.db.engine.connect() as connection:
        compiled = query.compile(connection, compile_kwargs={"literal_binds": True})
        prefix = "EXPLAIN QUERY PLAN " if engine.db.is_sqlite else "EXPLAIN "
        rows = connection.execute(text(prefix + str(compiled))).all()
        connection.rollback()
    return " | ".join(str(row[-1]).strip() for row in rows)


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95) - 1)]


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def run(url: str, label: str, pending: int, repeats: int, fire: int) -> None:
    upgrade(url)
    clock = ManualClock()
    with CycleEngine(url, clock=clock) as engine:
        engine.templates.publish(PLAIN, "bench_plain.yaml")
        due = (repeats + 1) * 100 + 2 * fire  # the engine's run, then the floor's
        seconds = fill(engine, pending, due)
        print(f"[{label}] {pending:,} pending timers ({due:,} due now) built in {seconds:.1f}s")
        print(f"[{label}] claim plan: {plan(engine)}")
        now: datetime = clock.now()
        claim_due_timers(engine.db, "warm-up", now, limit=100)
        samples = [
            timed(lambda: claim_due_timers(engine.db, "bench", now, limit=100))
            for _ in range(repeats)
        ]
        p50, p95 = percentiles(samples)
        print(
            f"[{label}] claim 100 due among {pending:,}: p50 {p50:.2f} ms, p95 {p95:.2f} ms "
            f"({repeats} repeats)"
        )
        statement = [timed(lambda: claim_rolled_back(engine, now)) for _ in range(repeats)]
        p50, p95 = percentiles(statement)
        print(
            f"[{label}] the claim statement alone (rolled back: no commit, no fsync): "
            f"p50 {p50:.2f} ms, p95 {p95:.2f} ms"
        )
        settings = WorkerSettings(batch_size=100, max_batches=max(1, fire // 100))
        worker = Worker(engine.timers, name="bench-fire", settings=settings)
        started, cpu = time.perf_counter(), time.process_time()
        result = worker.run_once(now)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(
            f"[{label}] end to end: {result.fired:,} timers fired in {elapsed:.2f}s = "
            f"{result.fired / elapsed:,.0f}/s (one transaction per timer, with its event); "
            f"worker CPU {cpu / max(result.fired, 1) * 1000:.2f} ms per timer"
        )
        assert result.fired == settings.max_batches * 100, result.as_dict()
        floor = postgres_floor(url) if engine.db.is_postgresql else sqlite_floor(sqlite_path(url))
        rate = floor_rate(floor, fire)
        print(
            f"[{label}] floor: {rate:,.0f} timers/s fired by hand-written DB-API code; "
            f"engine/floor {result.fired / elapsed / rate:.3f}"
        )


def claim_rolled_back(engine: CycleEngine, now: datetime) -> None:
    """The prebuilt claim statement, executed and rolled back: its own cost, without the
    commit's log flush (which a loaded disk dominates)."""
    params = {
        "now": now,
        "limit": 100,
        "owner": "bench",
        "until": now + DEFAULT_LEASE,
        "implausible": now + 2 * DEFAULT_LEASE,
    }
    with engine.db.engine.connect() as connection:
        assert len(connection.execute(CLAIM[engine.db.is_postgresql], params).all()) == 100
        connection.rollback()


def sqlite_path(url: str) -> Path:
    return Path(make_url(url).database or "")


def floor_rate(floor: Floor, count: int) -> float:
    """Timers per second fired by hand: the claim, then one transaction per timer."""
    cursor, sql, postgres = floor.connection.cursor(), floor.sql, floor.postgres
    lock = " FOR UPDATE" if postgres else ""
    skip = " FOR UPDATE SKIP LOCKED" if postgres else ""
    now = NOW_FLOOR
    fired = 0
    started = time.perf_counter()
    while fired < count:
        cursor.execute("BEGIN" if postgres else "BEGIN IMMEDIATE")
        cursor.execute(
            sql(
                "UPDATE timer_queue SET due_at = ?, lease_owner = 'floor' WHERE timer_id IN "
                f"(SELECT timer_id FROM timer_queue WHERE due_at <= ? ORDER BY due_at, timer_id "
                f"LIMIT 100{skip}) RETURNING timer_id, cycle_id"
            ),
            (now + timedelta(minutes=5), now),
        )
        claimed = cursor.fetchall()
        cursor.execute("COMMIT")
        for timer_id, cycle_id in claimed:
            cursor.execute("BEGIN" if postgres else "BEGIN IMMEDIATE")
            cursor.execute(sql(f"SELECT version FROM cycles WHERE id = ?{lock}"), (cycle_id,))
            (version,) = cursor.fetchone()
            cursor.execute(
                sql(
                    "SELECT t.kind, t.rule, q.lease_owner FROM timers t JOIN timer_queue q "
                    f"ON q.timer_id = t.id WHERE t.id = ?{' FOR UPDATE OF t' if postgres else ''}"
                ),
                (timer_id,),
            )
            _kind, rule, _owner = cursor.fetchone()
            cursor.execute(
                sql("UPDATE cycles SET version = ?, updated_at = ? WHERE id = ?"),
                (version + 1, now, cycle_id),
            )
            cursor.execute(
                sql(
                    "INSERT INTO events (cycle_id, seq, at, actor, kind, data) "
                    "VALUES (?, ?, ?, 'scheduler', 'reminder_due', ?)"
                ),
                (cycle_id, version + 1, now, json.dumps({"timer_id": timer_id, "rule": rule})),
            )
            cursor.execute(
                sql("UPDATE timers SET status = 'fired', fired_at = ? WHERE id = ?"),
                (now, timer_id),
            )
            cursor.execute("COMMIT")
            fired += 1
        if not claimed:
            break
    elapsed = time.perf_counter() - started
    floor.connection.close()
    return fired / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="10,000 pending timers only")
    parser.add_argument("--pending", type=int, default=None)
    args = parser.parse_args()
    pending = args.pending or (10_000 if args.smoke else 1_000_000)
    repeats, fire = (20, 300) if args.smoke else (200, 3_000)
    with tempfile.TemporaryDirectory() as workdir:
        run(f"sqlite:///{Path(workdir) / 'timers.db'}", "sqlite", pending, repeats, fire)
    postgres = os.environ.get("CYCLE_ENGINE_TEST_POSTGRES_URL")
    if postgres:
        factory = PostgresFactory(postgres)
        try:
            run(factory.new(), "postgresql", pending, repeats, fire)
        finally:
            factory.close()


if __name__ == "__main__":
    main()
