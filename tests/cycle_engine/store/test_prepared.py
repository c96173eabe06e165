"""The store's prepared statements write and read exactly what SQLAlchemy's types would, so the
fast path and the ORM can share every row; and every statement they send is counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from cycle_engine import CycleEngine
from cycle_engine.store.prepared import Prepared, fetch, fetch_one, run, run_many, watch
from cycle_engine.store.tables.timers import TimerRecord

TIMERS = TimerRecord.__table__  # type: ignore[attr-defined]
INSERT = Prepared(insert(TIMERS))
READ = Prepared(
    select(TIMERS.c.due_at, TIMERS.c.late, TIMERS.c.payload, TIMERS.c.lease_until).where(
        TIMERS.c.dedupe_key == bindparam("key")
    )
)
CANCEL = Prepared(
    update(TIMERS)
    .where(TIMERS.c.dedupe_key == bindparam("key"))
    .values(status="cancelled", lease_owner=None)
)
DUE = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def row(key: str, due: datetime = DUE) -> dict[str, object]:
    return {
        "kind": "reminder",
        "cycle_id": None,
        "stage_visit_id": None,
        "stage": None,
        "rule": "r",
        "occurrence": 1,
        "person_id": None,
        "due_at": due,
        "status": "pending",
        "lease_owner": None,
        "lease_until": None,
        "late": True,
        "fired_at": None,
        "created_at": DUE,
        "attempts": 0,
        "last_error": None,
        "payload": {"nominal_at": "x", "n": [1, 2]},
        "dedupe_key": key,
    }


def test_prepared_rows_read_back_through_the_orm_and_the_other_way(engine: CycleEngine) -> None:
    with engine.db.transaction() as session:
        assert run_many(session, INSERT, [row("a"), row("b", DUE + timedelta(microseconds=5))]) == 2
        session.add(TimerRecord(**row("c")))  # written by the ORM, read below by `fetch`
    with engine.db.read_session() as session:
        a = session.exec(select(TimerRecord).where(TimerRecord.dedupe_key == "a")).one()[0]
        assert (a.due_at, a.late, a.payload) == (DUE, True, {"nominal_at": "x", "n": [1, 2]})
        assert a.due_at.tzinfo is not None
        for key in ("a", "c"):
            assert fetch_one(session, READ, {"key": key}) == (
                DUE,
                True,
                {"nominal_at": "x", "n": [1, 2]},
                None,
            )
        if engine.db.is_sqlite:  # the same text SQLAlchemy writes, so comparisons agree
            stored = session.connection().execute(
                text("SELECT dedupe_key, due_at FROM timers ORDER BY dedupe_key")
            )
            assert [tuple(r) for r in stored] == [
                ("a", "2026-03-02 15:00:00.000000"),
                ("b", "2026-03-02 15:00:00.000005"),
                ("c", "2026-03-02 15:00:00.000000"),
            ]


def test_a_datetime_in_another_zone_is_stored_as_utc_and_a_naive_one_refused(
    engine: CycleEngine,
) -> None:
    local = DUE.astimezone(timezone(timedelta(hours=-6)))
    with engine.db.transaction() as session:
        run_many(session, INSERT, [row("a", local)])
        assert fetch(session, READ, {"key": "a"})[0][0] == DUE
    with pytest.raises(ValueError, match="naive datetime"), engine.db.transaction() as session:
        run_many(session, INSERT, [row("b", DUE.replace(tzinfo=None))])
    with engine.db.read_session() as session:
        assert fetch_one(session, READ, {"key": "b"}) is None  # nothing written


def test_values_fixed_in_the_statement_are_sent_and_rows_counted(engine: CycleEngine) -> None:
    with engine.db.transaction() as session:
        run_many(session, INSERT, [row("a"), row("b")])
        assert run(session, CANCEL, {"key": "a"}) == 1
        assert run(session, CANCEL, {"key": "missing"}) == 0
    with engine.db.read_session() as session:
        statuses = session.exec(select(TimerRecord.dedupe_key, TimerRecord.status)).all()
        assert sorted(tuple(s) for s in statuses) == [("a", "cancelled"), ("b", "pending")]


def test_watch_counts_prepared_statements_beside_sqlalchemys(engine: CycleEngine) -> None:
    seen: list[str] = []
    with watch(engine.db.engine, seen.append), engine.db.transaction() as session:
        run_many(session, INSERT, [row("a"), row("b")])  # one statement, two rows
        session.execute(select(TimerRecord)).all()  # through SQLAlchemy
    assert len(seen) == 2 and seen[0].startswith("INSERT INTO timers")
    with engine.db.transaction() as session:
        run(session, CANCEL, {"key": "a"})
    assert len(seen) == 2  # no longer watching


def test_a_driver_error_leaves_as_sqlalchemys_and_changes_nothing(engine: CycleEngine) -> None:
    with pytest.raises(IntegrityError), engine.db.transaction() as session:
        run_many(session, INSERT, [row("a"), row("a")])  # the same dedupe key twice
    with engine.db.read_session() as session:
        assert fetch_one(session, READ, {"key": "a"}) is None
