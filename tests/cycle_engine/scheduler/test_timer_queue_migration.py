"""Revision `0017_timer_queue` gives every queued timer its own due time, carried over from the
timers already there, and the triggers keep it in step afterwards (issue 16, item 5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import create_engine, insert, select, update
from sqlalchemy.engine import Engine

from cycle_engine.store.schema import alembic_config, upgrade
from cycle_engine.store.tables.timers import TimerQueueRecord, TimerRecord

BEFORE = "0016_dashboard_counters"
DUE = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
LEASE_END = DUE + timedelta(minutes=5)
TIMERS = TimerRecord.__table__  # type: ignore[attr-defined]
QUEUE = TimerQueueRecord.__table__  # type: ignore[attr-defined]


@pytest.fixture
def old_database(empty_db_url: str) -> str:
    """An empty database brought up to the revision before `0017_timer_queue`."""
    upgrade(empty_db_url, BEFORE)
    return empty_db_url


def timer(key: str, status: str, **values: object) -> dict[str, object]:
    return {
        "kind": "digest",
        "rule": "digest",
        "occurrence": 1,
        "due_at": DUE,
        "status": status,
        "late": False,
        "created_at": DUE - timedelta(days=1),
        "attempts": 0,
        "dedupe_key": key,
        "payload": {},
        "lease_owner": None,
        "lease_until": None,
        "fired_at": None,
        **values,
    }


def queue(engine: Engine) -> list[tuple[int, datetime, str | None, datetime]]:
    columns = (QUEUE.c.timer_id, QUEUE.c.due_at, QUEUE.c.lease_owner, QUEUE.c.timer_due_at)
    with engine.connect() as connection:
        rows = connection.execute(select(*columns).order_by(QUEUE.c.timer_id)).all()
    return [(row[0], row[1], row[2], row[3]) for row in rows]


def test_queued_timers_get_their_due_time_and_the_triggers_keep_it(old_database: str) -> None:
    engine = create_engine(old_database)
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(TIMERS),
                [
                    timer("pending", "pending"),
                    timer("leased", "claimed", lease_owner="w1", lease_until=LEASE_END),
                    timer("fired", "fired", fired_at=DUE),
                ],
            )
        upgrade(old_database)
        assert queue(engine) == [(1, DUE, None, DUE), (2, LEASE_END, "w1", DUE)]

        later = DUE + timedelta(hours=2)
        with engine.begin() as connection:  # a moved deadline moves the queue row, both times
            connection.execute(update(TIMERS).where(TIMERS.c.id == 1).values(due_at=later))
            connection.execute(insert(TIMERS), [timer("new", "pending", due_at=later)])
        assert queue(engine) == [
            (1, later, None, later),
            (2, LEASE_END, "w1", DUE),
            (4, later, None, later),
        ]

        with engine.connect() as connection, connection.begin():  # and back, rows kept
            config = alembic_config(old_database)
            config.attributes["connection"] = connection
            command.downgrade(config, BEFORE)
        with engine.begin() as connection:
            connection.execute(update(TIMERS).where(TIMERS.c.id == 4).values(status="fired"))
            rows = connection.execute(
                select(QUEUE.c.timer_id, QUEUE.c.due_at).order_by(QUEUE.c.timer_id)
            ).all()
        assert [tuple(row) for row in rows] == [(1, later), (2, LEASE_END)]
    finally:
        engine.dispose()
