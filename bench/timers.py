"""How fast workers claim and fire timers with 1,000,000 pending, on the path users take.

    python -m bench.timers [--smoke] [--pending N] [--organisations N] [--profile]

On SQLite and (when CYCLE_ENGINE_TEST_POSTGRES_URL is set) PostgreSQL, in `bench.world`'s
world: the built-in `learning-cycle` in an alliance whose organisations take part at every
level, each with a focal point. `world.build` makes two cycles through the engine (their
timers are what the engine plans for a stage: four reminders, the deadline, the first overdue
reminder and the stall check); `world.bulk` adds cycles by set-based SQL, and the same rules'
timers are written for each of their open visits with one INSERT ... SELECT (a rule's time
from its anchor: the visit's entry, its deadline or its last activity; rows whose time has
passed are stored as fired), until about N are pending. Reminders of some bulk cycles are made
due now (a few minutes ago: not late).

It prints the claim's plan, times claiming 100 due timers (p50/p95, each a full claim
transaction, then the statement alone, rolled back), then fires due reminders end to end with
the engine's worker (claim, then per timer: lock, handler, event, the outbox listener's emails
to the recipients, mark fired) beside a floor of hand-written DB-API code (sqlite3 / psycopg)
doing the same work per timer in the same run: the claim, then per timer lock the cycle, read
the timer with its lease and stage visit, read the recipients with one joined query, bump the
version, append the event, write as many outbox rows as the engine wrote, mark the timer fired.
Timers fired per second, the ratio and statements per fired timer. Figures only: nothing here
asserts a timing. `--smoke` uses 10,000 pending timers and a short run.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import bindparam, func, select, text
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.dialects.sqlite import dialect as SQLiteDialect
from sqlalchemy.engine import make_url

from bench import world
from cycle_engine import CycleEngine
from cycle_engine.scheduler.claim import CLAIM, DEFAULT_LEASE, claim_due_timers, claim_query
from cycle_engine.scheduler.worker import Worker, WorkerSettings
from cycle_engine.store.prepared import watch
from cycle_engine.store.schema import upgrade
from cycle_engine.store.tables.outbox import OutboxRecord
from cycle_engine.testing import ManualClock
from cycle_engine.testing_db import PostgresFactory

_COLUMNS = (
    "kind, cycle_id, stage_visit_id, stage, rule, occurrence, due_at, status, late, fired_at, "
    "created_at, attempts, dedupe_key, payload"
)


def rules_of(engine: CycleEngine, cycle_id: int) -> list[tuple[str, str, str, int, str]]:
    """The timers the engine planned for the cycle's stage visit, as (kind, rule, anchor,
    seconds from the anchor, payload): the anchor is the visit's entry, its deadline or its
    last activity, as the rule's kind says."""
    sql = (
        "SELECT t.kind, t.rule, t.due_at, t.payload, v.entered_at, v.due_at, "
        "v.last_activity_at FROM timers t JOIN stage_visits v ON v.id = t.stage_visit_id "
        "WHERE t.cycle_id = :cycle ORDER BY t.id"
    )
    rules = []
    with engine.db.engine.connect() as connection:
        for kind, rule, due, payload, entered, deadline, active in connection.execute(
            text(sql), {"cycle": cycle_id}
        ):
            data = payload if isinstance(payload, dict) else json.loads(payload)
            data.pop("nominal_at", None)
            anchor, moment = (
                ("entered_at", entered)
                if data.get("anchor") == "entry"
                else ("last_activity_at", active)
                if kind == "stall"
                else ("due_at", deadline)
            )
            seconds = int((_stamp(due) - _stamp(moment)).total_seconds())
            rules.append((kind, rule, anchor, seconds, json.dumps(data)))
    return rules


def _stamp(value: Any) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=None)


def fill(engine: CycleEngine, rules: list[tuple[str, str, str, int, str]], now: datetime) -> None:
    """Every rule's timer for the open visit of every bulk cycle, set-based; fired when its
    time has passed. PostgreSQL writes the rows without row triggers and fills the due-queue
    from them after (as the migration that made the queue does)."""
    sqlite = engine.db.is_sqlite
    values = ", ".join(
        f"('{kind}', '{rule}', '{anchor}', {seconds}, '{payload}')"
        for kind, rule, anchor, seconds, payload in rules
    )
    if sqlite:
        due = "strftime('%Y-%m-%d %H:%M:%f000', v.{anchor}, r.seconds || ' seconds')"
        stamp, payload, false = ":now", "payload", "0"
    else:
        due = "v.{anchor} + r.seconds * interval '1 second'"
        stamp, payload, false = "CAST(:now AS timestamptz)", "CAST(payload AS json)", "false"
    moment = "CASE r.anchor " + " ".join(
        f"WHEN '{anchor}' THEN {due.format(anchor=anchor)}"
        for anchor in ("entered_at", "due_at", "last_activity_at")
    )
    insert = f"""
    WITH r(kind, rule, anchor, seconds, payload) AS (VALUES {values})
    INSERT INTO timers ({_COLUMNS})
    SELECT kind, cycle_id, visit_id, stage, rule, 1, due_at,
        CASE WHEN due_at > {stamp} THEN 'pending' ELSE 'fired' END, {false},
        CASE WHEN due_at > {stamp} THEN NULL ELSE due_at END, entered_at, 0,
        'c' || cycle_id || '/v' || visit_id || '/' || stage || '/' || rule || '/1', {payload}
    FROM (
        SELECT r.kind, r.rule, r.payload, c.id AS cycle_id, v.id AS visit_id, v.stage,
            v.entered_at, {moment} END AS due_at
        FROM cycles c JOIN stage_visits v ON v.id = c.current_stage_id CROSS JOIN r
        WHERE c.created_by = 'bulk'
    ) AS planned"""
    stamp_value = now.strftime("%Y-%m-%d %H:%M:%S") if sqlite else now.isoformat()
    with engine.db.transaction() as session:
        if not sqlite:
            session.execute(text("SET LOCAL session_replication_role = replica"))
        session.execute(text(insert), {"now": stamp_value})
        if not sqlite:
            session.execute(text("SET LOCAL session_replication_role = origin"))
            session.execute(
                text(
                    "INSERT INTO timer_queue (timer_id, cycle_id, due_at, timer_due_at) "
                    "SELECT id, cycle_id, due_at, due_at FROM timers WHERE status = 'pending' "
                    "ON CONFLICT (timer_id) DO NOTHING"
                )
            )
        session.execute(text("ANALYZE"))  # (SQLite keeps statistics made in a committed one)


def make_due(engine: CycleEngine, count: int, now: datetime) -> int:
    """Move `count` pending reminders of bulk cycles to a few minutes before `now` (within
    ten minutes: found on time, not late); returns how many moved."""
    sqlite = engine.db.is_sqlite
    due = (
        "strftime('%Y-%m-%d %H:%M:%f000', :now, '-' || (id % 600) || ' seconds')"
        if sqlite
        else "CAST(:now AS timestamptz) - (id % 600) * interval '1 second'"
    )
    sql = f"""
    UPDATE timers SET due_at = {due} WHERE id IN (
        SELECT t.id FROM timers t JOIN cycles c ON c.id = t.cycle_id
        WHERE t.kind = 'reminder' AND t.status = 'pending' AND c.created_by = 'bulk'
        ORDER BY t.id LIMIT :count)"""
    stamp = now.strftime("%Y-%m-%d %H:%M:%S") if sqlite else now.isoformat()
    with engine.db.transaction() as session:
        moved = int(session.execute(text(sql), {"now": stamp, "count": count}).rowcount)
    with engine.db.engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()
    return moved


def pending_count(engine: CycleEngine) -> int:
    with engine.db.engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM timer_queue")).scalar_one())


def plan(engine: CycleEngine) -> str:
    """The plan of the claim (one UPDATE of the due-queue ... RETURNING)."""
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


def load() -> str:
    return "load " + " ".join(f"{figure:.2f}" for figure in os.getloadavg())


def run(url: str, label: str, args: argparse.Namespace) -> None:
    upgrade(url)
    clock = ManualClock()
    with CycleEngine(url, clock=clock) as engine:
        started = time.perf_counter()
        made = world.build(engine, 2, args.organisations)
        now: datetime = clock.now()
        rules = rules_of(engine, made.cycles[0])
        world.bulk(engine, made, max(1, args.pending * 10 // 36), now)  # ~3.6 pending each
        fill(engine, rules, now)
        due = (3 * args.repeats + 1) * 100 + 2 * args.fire  # three claim runs, two fire runs
        moved = make_due(engine, due, now)
        if moved < due:  # a small --pending: fewer repeats, so no claim runs out of due timers
            args.fire = min(args.fire, max(100, moved // 4) // 100 * 100)
            args.repeats = max(1, (moved - 2 * args.fire - 100) // 300)
            print(f"[{label}] only {moved:,} could be made due: {args.repeats} claim repeats")
        pending = pending_count(engine)
        print(
            f"[{label}] {pending:,} pending timers ({moved:,} due now; {len(rules)} rules per "
            f"visit, {args.organisations} organisations) built in "
            f"{time.perf_counter() - started:.1f}s"
        )
        print(f"[{label}] claim plan: {plan(engine)}")
        sqlite = engine.db.is_sqlite
        claim_due_timers(engine.db, "warm-up", now, limit=100)
        samples = [
            timed(lambda: claim_due_timers(engine.db, "bench", now, limit=100))
            for _ in range(args.repeats)
        ]
        p50, p95 = percentiles(samples)
        print(
            f"[{label}] claim 100 due among {pending:,}: p50 {p50:.2f} ms, p95 {p95:.2f} ms "
            f"({args.repeats} repeats; {load()})"
        )
        statement = [claim_statement(engine, now) for _ in range(args.repeats)]
        p50, p95 = percentiles(statement)
        print(
            f"[{label}] the claim statement alone (its commit not timed): "
            f"p50 {p50:.2f} ms, p95 {p95:.2f} ms"
        )
        floor = Floor(engine.db.engine.url.render_as_string(hide_password=False), sqlite)
        samples = [timed(lambda: floor.claim(now)) for _ in range(args.repeats)]
        floor.connection.close()
        p50, p95 = percentiles(samples)
        print(
            f"[{label}] floor: claim 100 by hand-written DB-API code, same SQL, own transaction: "
            f"p50 {p50:.2f} ms, p95 {p95:.2f} ms ({load()})"
        )
        fire_engine(engine, label, now, args)


def fire_engine(engine: CycleEngine, label: str, now: datetime, args: argparse.Namespace) -> None:
    """Fire `args.fire` due timers with the engine's worker, then as many with the floor."""
    settings = WorkerSettings(batch_size=100, max_batches=max(1, args.fire // 100))
    worker = Worker(engine.timers, name="bench-fire", settings=settings)
    statements = [0]

    def count(*_: Any) -> None:
        statements[0] += 1

    outbox_before = outbox_rows(engine)
    profile = cProfile.Profile() if args.profile else None
    with watch(engine.db.engine, count):
        started, cpu = time.perf_counter(), time.process_time()
        if profile is not None:
            profile.enable()
        result = worker.run_once(now)
        if profile is not None:
            profile.disable()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    fired = result.fired
    assert fired == settings.max_batches * 100, result.as_dict()
    emails = (outbox_rows(engine) - outbox_before) / fired
    rate = fired / elapsed
    print(
        f"[{label}] engine: {fired:,} reminders fired in {elapsed:.2f}s = {rate:,.0f}/s, "
        f"{statements[0] / fired:.1f} statements and {emails:.1f} emails per timer, worker CPU "
        f"{cpu / fired * 1000:.2f} ms per timer ({load()})"
    )
    if profile is not None:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
    floor = Floor(engine.db.engine.url.render_as_string(hide_password=False), engine.db.is_sqlite)
    floor_rate = floor.run(args.fire, round(emails), now)
    print(
        f"[{label}] floor: {floor_rate:,.0f}/s fired by hand-written DB-API code doing the same "
        f"work; engine/floor {rate / floor_rate:.3f} ({load()})"
    )


def outbox_rows(engine: CycleEngine) -> int:
    with engine.db.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(OutboxRecord)).scalar_one())


def claim_statement(engine: CycleEngine, now: datetime) -> float:
    """Milliseconds the prebuilt claim statement takes in a claim transaction (its commit,
    which a loaded disk dominates, not timed); each claims the next 100 due timers."""
    params = {
        "now": now,
        "limit": 100,
        "owner": "bench",
        "until": now + DEFAULT_LEASE,
        "implausible": now + 2 * DEFAULT_LEASE,
    }
    with engine.db.transaction() as session:
        connection = session.connection()
        started = time.perf_counter()
        assert len(connection.execute(CLAIM[engine.db.is_postgresql], params).all()) == 100
        return (time.perf_counter() - started) * 1000


class Floor:
    """Claim and fire timers in plain DB-API calls (`?` placeholders, rewritten for psycopg)."""

    def __init__(self, url: str, sqlite: bool) -> None:
        parsed = make_url(url)
        self.postgres = not sqlite
        if sqlite:
            self.connection: Any = sqlite3.connect(parsed.database or "", isolation_level=None)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
                self.connection.execute(f"PRAGMA {pragma}")
        else:
            self.connection = psycopg.connect(
                f"host={parsed.host} port={parsed.port or 5432} user={parsed.username} "
                f"dbname={parsed.database}",
                autocommit=True,
            )
        # the engine's claim statement, compiled once for the driver (named parameters)
        statement = claim_query(
            bindparam("now"),
            100,
            lock=self.postgres,
            owner="floor",
            until=bindparam("until"),
            implausible_after=bindparam("implausible"),
        )
        dialect = psycopg_dialect() if self.postgres else SQLiteDialect(paramstyle="named")
        compiled = statement.compile(dialect=dialect)
        self.claim_sql: str = compiled.string
        self.claim_params: dict[str, Any] = dict(compiled.params)

    def convert(self, moment: datetime) -> Any:
        """A UTC moment as the engine stores it (naive text on SQLite)."""
        if self.postgres:
            return moment
        return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

    def sql(self, text: str) -> str:
        return text.replace("?", "%s") if self.postgres else text

    def claim(self, now: datetime) -> list[tuple[int, int]]:
        """Lease the next 100 due timers in one transaction, with the engine's claim SQL."""
        cursor = self.connection.cursor()
        cursor.execute("BEGIN" if self.postgres else "BEGIN IMMEDIATE")
        params = {
            **self.claim_params,
            "now": self.convert(now),
            "until": self.convert(now + DEFAULT_LEASE),
            "implausible": self.convert(now + 2 * DEFAULT_LEASE),
        }
        cursor.execute(self.claim_sql, params)
        claimed: list[tuple[int, int]] = [(row[0], row[1]) for row in cursor.fetchall()]
        cursor.execute("COMMIT")
        return claimed

    def run(self, count: int, emails: int, now: datetime) -> float:
        """Timers per second: claim 100, then one transaction per timer."""
        cursor, postgres = self.connection.cursor(), self.postgres
        now = now.replace(tzinfo=None)
        skip = " FOR UPDATE SKIP LOCKED" if postgres else ""
        begin = "BEGIN" if postgres else "BEGIN IMMEDIATE"
        fired = 0
        started = time.perf_counter()
        while fired < count:
            cursor.execute(begin)
            cursor.execute(
                self.sql(
                    "UPDATE timer_queue SET due_at = ?, lease_owner = 'floor' WHERE timer_id IN "
                    "(SELECT timer_id FROM timer_queue WHERE due_at <= ? ORDER BY due_at, "
                    f"timer_id LIMIT 100{skip}) RETURNING timer_id, cycle_id"
                ),
                (now + timedelta(minutes=5), now),
            )
            claimed = cursor.fetchall()
            cursor.execute("COMMIT")
            if not claimed:
                break
            for timer_id, cycle_id in claimed:
                cursor.execute(begin)
                self.fire(cursor, timer_id, cycle_id, emails, now)
                cursor.execute("COMMIT")
                fired += 1
        elapsed = time.perf_counter() - started
        self.connection.close()
        return fired / elapsed

    def fire(self, cursor: Any, timer_id: int, cycle_id: int, emails: int, now: datetime) -> None:
        lock = " FOR UPDATE" if self.postgres else ""
        cursor.execute(self.sql(f"SELECT version FROM cycles WHERE id = ?{lock}"), (cycle_id,))
        (version,) = cursor.fetchone()
        cursor.execute(
            self.sql(
                "SELECT t.kind, t.rule, t.stage, t.payload, q.lease_owner, v.id, v.due_at "
                "FROM timers t JOIN timer_queue q ON q.timer_id = t.id "
                "JOIN stage_visits v ON v.id = t.stage_visit_id "
                f"WHERE t.id = ?{' FOR UPDATE OF t' if self.postgres else ''}"
            ),
            (timer_id,),
        )
        _kind, rule, stage, _payload, _owner, _visit, _deadline = cursor.fetchone()
        cursor.execute(
            self.sql(
                "SELECT p.level, pe.id, pe.email, pe.language, o.name, n.mode "
                "FROM participation p JOIN people pe ON pe.id = p.focal_point_id "
                "JOIN organisations o ON o.id = p.organisation_id "
                "LEFT JOIN notification_preferences n ON n.person_id = pe.id "
                "WHERE p.cycle_id = ? AND p.stage = ?"
            ),
            (cycle_id, stage),
        )
        people = cursor.fetchall() or [("lead", None, "x@example.org", "en", "", None)]
        cursor.execute(
            self.sql("UPDATE cycles SET version = ?, updated_at = ? WHERE id = ? AND version = ?"),
            (version + 1, now, cycle_id, version),
        )
        cursor.execute(
            self.sql(
                "INSERT INTO events (cycle_id, seq, at, actor, kind, data) "
                "VALUES (?, ?, ?, 'scheduler', 'reminder_due', ?)"
            ),
            (cycle_id, version + 1, now, json.dumps({"timer_id": timer_id, "rule": rule})),
        )
        cursor.executemany(
            self.sql(
                "INSERT INTO outbox (channel, kind, cycle_id, stage, visit, rule, occurrence, "
                "person_id, recipient, language, dedupe_key, message_id, delivery, not_before, "
                "status, attempts, next_attempt_at, possible_duplicate, context, created_at) "
                "VALUES ('email', 'reminder', ?, ?, 1, ?, 1, ?, ?, ?, ?, ?, "
                "'immediate', ?, 'pending', 0, ?, ?, ?, ?)"
            ),
            [
                (
                    cycle_id,
                    stage,
                    rule,
                    person[1],
                    person[2],
                    person[3],
                    f"floor/{timer_id}/{n}",
                    f"<{uuid.uuid4().hex}@floor>",
                    now,
                    now,
                    False,
                    json.dumps({"cycle": {"id": cycle_id}, "stage": {"key": stage}, "n": n}),
                    now,
                )
                for n, person in ((n, people[n % len(people)]) for n in range(emails))
            ],
        )
        cursor.execute(
            self.sql("UPDATE timers SET status = 'fired', fired_at = ? WHERE id = ?"),
            (now, timer_id),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="10,000 pending timers, short runs")
    parser.add_argument("--pending", type=int, default=None)
    parser.add_argument("--organisations", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile the engine's firing")
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--postgres-only", action="store_true")
    args = parser.parse_args()
    args.pending = args.pending or (10_000 if args.smoke else 1_000_000)
    args.repeats, args.fire = (10, 100) if args.smoke else (200, 3_000)
    if not args.postgres_only:
        with tempfile.TemporaryDirectory() as workdir:
            run(f"sqlite:///{Path(workdir) / 'timers.db'}", "sqlite", args)
    postgres = os.environ.get("CYCLE_ENGINE_TEST_POSTGRES_URL")
    if postgres and not args.sqlite_only:
        factory = PostgresFactory(postgres)
        try:
            run(factory.new(), "postgresql", args)
        finally:
            factory.close()


if __name__ == "__main__":
    main()
