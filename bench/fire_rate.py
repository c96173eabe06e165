"""Persisted fires per second through the public API, beside the same row writes in raw sqlite3.

    python -m bench.fire_rate [--smoke] [--cycles N] [--statements]

Walks N cycles through every stage of a seven-stage template (one transaction per fire: lock the
cycle, close the stage visit, open the next, bump the version, append the event), first on
SQLite, then on PostgreSQL when CYCLE_ENGINE_TEST_POSTGRES_URL is set, and prints the ratio to
raw sqlite3 doing the same statements on the same schema.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event

from cycle_engine import CycleEngine
from cycle_engine.store.schema import upgrade
from cycle_engine.testing import ManualClock
from cycle_engine.testing_db import PostgresFactory

STAGES = [
    "question_workshop",
    "role_assignment",
    "work_plan",
    "good_practice_review",
    "prototype",
    "multi_context_testing",
    "documentation",
]
TEMPLATE = "\n".join(
    ["key: bench-linear", "title: Benchmark cycle", f"initial: {STAGES[0]}", "stages:"]
    + [f"  - {{key: {s}, title: {s}, duration: P2W}}" for s in STAGES]
    + ["  - {key: done, title: Done, final: true}", "transitions:"]
    + [
        f"  - {{trigger: next_{i}, from: {a}, to: {b}}}"
        for i, (a, b) in enumerate(zip(STAGES, [*STAGES[1:], "done"], strict=True))
    ]
)
FIRES_PER_CYCLE = len(STAGES)


def engine_rate(url: str, cycles: int) -> float:
    clock = ManualClock()
    with CycleEngine(url, clock=clock) as engine:
        engine.templates.publish(TEMPLATE, "bench.yaml")
        ids = [engine.start_cycle("bench-linear", f"cycle {n}").id or 0 for n in range(cycles)]
        started = time.perf_counter()
        for step in range(FIRES_PER_CYCLE):
            for cycle_id in ids:
                engine.fire(cycle_id, f"next_{step}")
        elapsed = time.perf_counter() - started
    return cycles * FIRES_PER_CYCLE / elapsed


def statements_of_one_fire(url: str) -> list[str]:
    """The SQL one persisted fire sends (first line of each, parameters left out)."""
    sent: list[str] = []
    with CycleEngine(url, clock=ManualClock()) as engine:
        engine.templates.publish(TEMPLATE, "bench.yaml")
        cycle_id = engine.start_cycle("bench-linear", "statements").id or 0

        def record(*args: Any) -> None:
            sent.append(" ".join(str(args[2]).split())[:110])

        event.listen(engine.db.engine, "before_cursor_execute", record)
        engine.fire(cycle_id, "next_0")
        event.remove(engine.db.engine, "before_cursor_execute", record)
    return sent


def raw_sqlite_rate(path: Path, cycles: int) -> float:
    """The same statements a fire runs, hand-written on the same schema."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    now = datetime(2026, 1, 5, tzinfo=UTC).replace(tzinfo=None)
    conn.execute(
        "INSERT INTO templates (key, version, title, content_hash, source_name, "
        "source_text, published_at) VALUES ('raw', 1, 'raw', 'h', 'raw', '', ?)",
        (now,),
    )
    ids = []
    for n in range(cycles):
        cur = conn.execute(
            "INSERT INTO cycles (template_id, template_key, title, state, status, version, "
            "started_at, updated_at, created_by) VALUES (1, 'raw', ?, ?, 'active', 1, ?, ?, 's')",
            (f"c{n}", STAGES[0], now, now),
        )
        cycle_id = cur.lastrowid
        cur = conn.execute(
            "INSERT INTO stage_visits (cycle_id, stage, visit, entered_at, due_at, "
            "last_activity_at) VALUES (?, ?, 1, ?, ?, ?)",
            (cycle_id, STAGES[0], now, now, now),
        )
        conn.execute("UPDATE cycles SET current_stage_id=? WHERE id=?", (cur.lastrowid, cycle_id))
        ids.append(cycle_id)
    started = time.perf_counter()
    for step in range(FIRES_PER_CYCLE):
        dest = STAGES[step + 1] if step + 1 < len(STAGES) else "done"
        for cycle_id in ids:
            conn.execute("BEGIN IMMEDIATE")
            version, visit_id = conn.execute(
                "SELECT version, current_stage_id FROM cycles WHERE id=?", (cycle_id,)
            ).fetchone()
            conn.execute("UPDATE stage_visits SET left_at=? WHERE id=?", (now, visit_id))
            new_visit = conn.execute(
                "INSERT INTO stage_visits (cycle_id, stage, visit, entered_at, due_at, "
                "last_activity_at) VALUES (?, ?, 1, ?, ?, ?)",
                (cycle_id, dest, now, now + timedelta(weeks=2), now),
            ).lastrowid
            conn.execute(
                "UPDATE cycles SET state=?, version=?, updated_at=?, current_stage_id=? "
                "WHERE id=? AND version=?",
                (dest, version + 1, now, new_visit, cycle_id, version),
            )
            conn.execute(
                'INSERT INTO events (cycle_id, seq, at, actor, kind, "trigger", '
                "from_state, to_state, data) VALUES (?, ?, ?, 'system', 'transition', "
                "?, ?, ?, '{}')",
                (cycle_id, version + 1, now, f"next_{step}", STAGES[step], dest),
            )
            conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return cycles * FIRES_PER_CYCLE / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny N so CI runs it in seconds")
    parser.add_argument("--cycles", type=int, default=None)
    parser.add_argument("--statements", action="store_true", help="list one fire's SQL first")
    args = parser.parse_args()
    cycles = args.cycles or (20 if args.smoke else 500)
    with tempfile.TemporaryDirectory() as tmp:
        engine_db = Path(tmp) / "engine.db"
        raw_db = Path(tmp) / "raw.db"
        upgrade(f"sqlite:///{engine_db}")
        upgrade(f"sqlite:///{raw_db}")
        if args.statements:
            statements_db = f"sqlite:///{Path(tmp) / 'statements.db'}"
            upgrade(statements_db)
            shown = statements_of_one_fire(statements_db)
            print(f"one fire on SQLite: BEGIN IMMEDIATE, {len(shown)} statements, COMMIT")
            print("\n".join(f"  {n}. {text}" for n, text in enumerate(shown, 1)))
        sqlite_rate = engine_rate(f"sqlite:///{engine_db}", cycles)
        raw_rate = raw_sqlite_rate(raw_db, cycles)
    total = cycles * FIRES_PER_CYCLE
    print(f"fires: {total} ({cycles} cycles x {FIRES_PER_CYCLE} stages)")
    print(f"sqlite  engine : {sqlite_rate:8.0f} fires/s")
    print(f"sqlite  raw    : {raw_rate:8.0f} fires/s (hand-written sqlite3, same statements)")
    print(f"ratio engine/raw: {sqlite_rate / raw_rate:.2f}")
    pg_url = os.environ.get("CYCLE_ENGINE_TEST_POSTGRES_URL")
    if pg_url:
        factory = PostgresFactory(pg_url)
        try:
            url = factory.new()
            print(f"postgres engine: {engine_rate(url, cycles):8.0f} fires/s")
        finally:
            factory.close()


if __name__ == "__main__":
    main()
