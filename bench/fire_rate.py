"""Fires per second on the path users take, beside a floor that does the same work.

    python -m bench.fire_rate [--smoke] [--cycles N] [--statements]

The engine fires the built-in `learning-cycle`'s first three transitions (questions agreed, roles
assigned, plan approved: every guard runs on real records) on cycles of an alliance whose
organisations take part at every level (one lead and one active organisation per stage, the
rest informed, each with a focal point), with 3 and with 30 organisations. The floor is
hand-written DB-API code (sqlite3, or psycopg on PostgreSQL) doing the same work per fire in the
same run: lock the cycle, read the guard facts and the recipients with joined queries, close the
stage visit and open the next, bump the version, append the event, cancel the old timers, write
as many timer and outbox rows as the engine wrote. It prints fires/s, the ratio to the floor and
the statements per fire (SQLite, and PostgreSQL when CYCLE_ENGINE_TEST_POSTGRES_URL is set).
Both are timed in their steady state, as a running server fires: the first cycle walks the
three transitions untimed first (the engine reads its template and prepares its statements;
the floor's driver prepares its own), and the rate is that of the other cycles.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bench import world
from cycle_engine import CycleEngine
from cycle_engine.store.prepared import watch
from cycle_engine.store.schema import upgrade
from cycle_engine.store.tables.outbox import OutboxRecord
from cycle_engine.store.tables.timers import TimerRecord
from cycle_engine.testing import ManualClock
from cycle_engine.testing_db import PostgresFactory

TRIGGERS = ("questions_agreed", "roles_assigned", "plan_approved")
STAGES = ("question_workshop", "role_assignment", "work_plan", "good_practice_review")
COORDINATOR = world.COORDINATOR
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@dataclass(frozen=True, kw_only=True)
class EngineRun:
    rate: float
    statements: float
    timers: int  # timer rows written per fire
    outbox: int  # outbox rows written per fire


def seed(engine: CycleEngine, cycles: int, organisations: int) -> list[int]:
    """`bench.world`'s alliance with `organisations` partners on `cycles` learning cycles."""
    return world.build(engine, cycles, organisations).cycles


def seeded(url: str, cycles: int, organisations: int) -> list[int]:
    """Seed `url` through the engine; the ids of its cycles."""
    with CycleEngine(url, clock=ManualClock(NOW)) as engine:
        engine.publish_builtin_templates()
        return seed(engine, cycles, organisations)


def engine_run(url: str, ids: Sequence[int]) -> EngineRun:
    with CycleEngine(url, clock=ManualClock(NOW)) as engine:
        counted = [0]

        def count(_sql: str) -> None:
            counted[0] += 1

        warm_up, timed = ids[0], ids[1:]
        for trigger in TRIGGERS:
            engine.fire(warm_up, trigger, actor=COORDINATOR)
        rows_before = _rows(engine)
        with watch(engine.db.engine, count):
            started = time.perf_counter()
            for trigger in TRIGGERS:
                for cycle_id in timed:
                    engine.fire(cycle_id, trigger, actor=COORDINATOR)
            elapsed = time.perf_counter() - started
        rows_after = _rows(engine)
    fires = len(timed) * len(TRIGGERS)
    return EngineRun(
        rate=fires / elapsed,
        statements=counted[0] / fires,
        timers=round((rows_after[0] - rows_before[0]) / fires),
        outbox=round((rows_after[1] - rows_before[1]) / fires),
    )


def _rows(engine: CycleEngine) -> tuple[int, int]:
    with engine.db.read_session() as session:
        connection = session.connection()
        timers = connection.execute(select(func.count()).select_from(TimerRecord)).scalar_one()
        outbox = connection.execute(select(func.count()).select_from(OutboxRecord)).scalar_one()
    return int(timers), int(outbox)


class Floor:
    """The same work per fire in plain DB-API calls (`?` placeholders, rewritten for psycopg)."""

    def __init__(self, connect: Callable[[], Any], *, postgres: bool) -> None:
        self.connection = connect()
        self.postgres = postgres

    def sql(self, text: str) -> str:
        return text.replace("?", "%s") if self.postgres else text

    def run(self, ids: Sequence[int], timers: int, outbox: int) -> float:
        cursor = self.connection.cursor()
        warm_up, timed = ids[0], ids[1:]
        for step, trigger in enumerate(TRIGGERS):
            self.fire(cursor, warm_up, step, trigger, timers, outbox)
        started = time.perf_counter()
        for step, trigger in enumerate(TRIGGERS):
            for cycle_id in timed:
                self.fire(cursor, cycle_id, step, trigger, timers, outbox)
        elapsed = time.perf_counter() - started
        self.connection.close()
        return len(timed) * len(TRIGGERS) / elapsed

    def fire(
        self, cursor: Any, cycle_id: int, step: int, trigger: str, timers: int, outbox: int
    ) -> None:
        now = NOW.replace(tzinfo=None)
        source, dest = STAGES[step], STAGES[step + 1]
        cursor.execute("BEGIN" if self.postgres else "BEGIN IMMEDIATE")
        lock = " FOR UPDATE" if self.postgres else ""
        cursor.execute(
            self.sql(f"SELECT version, current_stage_id FROM cycles WHERE id=?{lock}"), (cycle_id,)
        )
        version, visit_id = cursor.fetchone()
        questions = "SELECT count(*) FROM learning_questions WHERE cycle_id=?"
        cursor.execute(self.sql(questions), (cycle_id,))
        cursor.fetchone()
        cursor.execute(
            self.sql(
                "SELECT p.stage, p.level, pe.id, pe.email, pe.language, o.name, n.mode "
                "FROM participation p JOIN people pe ON pe.id = p.focal_point_id "
                "JOIN organisations o ON o.id = p.organisation_id "
                "LEFT JOIN notification_preferences n ON n.person_id = pe.id "
                "WHERE p.cycle_id=? AND p.stage IN (?, ?)"
            ),
            (cycle_id, source, dest),
        )
        recipients = cursor.fetchall()
        cursor.execute(self.sql("UPDATE stage_visits SET left_at=? WHERE id=?"), (now, visit_id))
        cursor.execute(
            self.sql(
                "INSERT INTO stage_visits (cycle_id, stage, visit, entered_at, due_at, "
                "last_activity_at) VALUES (?, ?, 1, ?, ?, ?) RETURNING id"
            ),
            (cycle_id, dest, now, now + timedelta(weeks=2), now),
        )
        (new_visit,) = cursor.fetchone()
        cursor.execute(
            self.sql(
                "UPDATE cycles SET state=?, version=?, updated_at=?, current_stage_id=? "
                "WHERE id=? AND version=?"
            ),
            (dest, version + 1, now, new_visit, cycle_id, version),
        )
        cursor.execute(
            self.sql(
                'INSERT INTO events (cycle_id, seq, at, actor, kind, "trigger", from_state, '
                "to_state, data) VALUES (?, ?, ?, 'floor', 'transition', ?, ?, ?, '{}')"
            ),
            (cycle_id, version + 1, now, trigger, source, dest),
        )
        cursor.execute(
            self.sql(
                "UPDATE timers SET status='cancelled' WHERE stage_visit_id=? "
                "AND status IN ('pending', 'claimed')"
            ),
            (visit_id,),
        )
        cursor.executemany(
            self.sql(
                "INSERT INTO timers (kind, cycle_id, stage_visit_id, stage, rule, occurrence, "
                "due_at, status, late, created_at, attempts, dedupe_key, payload) "
                "VALUES ('reminder', ?, ?, ?, ?, 1, ?, 'pending', ?, ?, 0, ?, '{}')"
            ),
            [
                (cycle_id, new_visit, dest, f"rule{n}", now, False, now, f"{new_visit}:{n}")
                for n in range(timers)
            ],
        )
        people = recipients or [("", "", None, "x@example.org", "en", "", None)]
        cursor.executemany(
            self.sql(
                "INSERT INTO outbox (channel, kind, cycle_id, stage, visit, rule, occurrence, "
                "person_id, recipient, language, dedupe_key, message_id, delivery, not_before, "
                "status, attempts, next_attempt_at, possible_duplicate, context, created_at) "
                "VALUES ('email', 'stage_started', ?, ?, 1, 'started', 0, ?, ?, ?, ?, ?, "
                "'immediate', ?, 'pending', 0, ?, ?, ?, ?)"
            ),
            [
                (
                    cycle_id,
                    dest,
                    person[2],
                    person[3],
                    person[4],
                    f"{cycle_id}:{dest}:{n}:{uuid.uuid4().hex}",
                    f"<{uuid.uuid4().hex}@floor>",
                    now,
                    now,
                    False,
                    json.dumps({"cycle": {"id": cycle_id}, "stage": {"key": dest}, "n": n}),
                    now,
                )
                for n, person in ((n, people[n % len(people)]) for n in range(outbox))
            ],
        )
        cursor.execute("COMMIT")


def sqlite_floor(path: Path) -> Floor:
    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            connection.execute(f"PRAGMA {pragma}")
        return connection

    return Floor(connect, postgres=False)


def postgres_floor(url: str) -> Floor:
    parsed = make_url(url)
    conninfo = (
        f"host={parsed.host} port={parsed.port or 5432} user={parsed.username} "
        f"dbname={parsed.database}"
    )
    return Floor(lambda: psycopg.connect(conninfo, autocommit=True), postgres=True)


def compare(
    label: str,
    engine_url: str,
    floor: Callable[[str], Floor],
    floor_url: str,
    cycles: int,
    organisations: int,
) -> None:
    """Seed both databases with the same records (SQLite: one seeded file copied with the
    driver's backup; PostgreSQL: seeded twice), then time the engine and the floor."""
    ids = seeded(engine_url, cycles, organisations)
    if make_url(engine_url).get_backend_name() == "sqlite":
        source = sqlite3.connect(make_url(engine_url).database or "")
        target = sqlite3.connect(make_url(floor_url).database or "")
        source.backup(target)
        source.close()
        target.close()
    elif seeded(floor_url, cycles, organisations) != ids:
        raise RuntimeError("the floor's database was seeded with other ids")
    run = engine_run(engine_url, ids)
    floor_rate = floor(floor_url).run(ids, run.timers, run.outbox)
    print(
        f"{label:<10} {organisations:>3} orgs: engine {run.rate:7.0f} fires/s, "
        f"floor {floor_rate:7.0f} fires/s, ratio {run.rate / floor_rate:.3f}; "
        f"{run.statements:.1f} statements per fire; per fire {run.timers} timer and "
        f"{run.outbox} outbox rows"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny N so CI runs it in seconds")
    parser.add_argument("--cycles", type=int, default=None)
    args = parser.parse_args()
    cycles = args.cycles or (6 if args.smoke else 101)
    pg_url = os.environ.get("CYCLE_ENGINE_TEST_POSTGRES_URL")
    factory = PostgresFactory(pg_url) if pg_url else None
    try:
        for organisations in (3, 30):
            with tempfile.TemporaryDirectory() as tmp:
                engine_url = f"sqlite:///{Path(tmp) / 'engine.db'}"
                floor_path = Path(tmp) / "floor.db"
                upgrade(engine_url)
                upgrade(f"sqlite:///{floor_path}")
                compare(
                    "sqlite",
                    engine_url,
                    lambda url: sqlite_floor(Path(make_url(url).database or "")),
                    f"sqlite:///{floor_path}",
                    cycles,
                    organisations,
                )
            if factory is not None:
                compare(
                    "postgresql",
                    factory.new(),
                    postgres_floor,
                    factory.new(),
                    cycles,
                    organisations,
                )
    finally:
        if factory is not None:
            factory.close()


if __name__ == "__main__":
    main()
