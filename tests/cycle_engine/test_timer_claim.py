"""A claim is one prebuilt statement on the narrow due-queue, never a rewrite of timer rows
(issue 16, item 5).

Counted at the driver, like the statements of a fire: claiming a batch sends one UPDATE, to
`timer_queue`, that neither writes nor reads `timers` (revision `0017_timer_queue`). The queue
follows the timers through the triggers: a fired or cancelled timer leaves it, a leased one is
due again when its lease ends, and a released one is due again at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from cycle_engine import CycleEngine
from cycle_engine.scheduler.claim import claim_due, release_timers
from cycle_engine.store.prepared import watch
from cycle_engine.store.tables.timers import CLAIMED, PENDING, TimerQueueRecord
from cycle_engine.testing import ManualClock

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def engine(db_url: str, clock: ManualClock) -> Iterator[CycleEngine]:
    with CycleEngine(db_url, clock=clock) as e:
        e.publish_builtin_templates()
        yield e


def queued(engine: CycleEngine) -> int:
    with engine.db.read_session() as session:
        queue = TimerQueueRecord.__table__  # type: ignore[attr-defined]
        return int(
            session.connection().execute(select(func.count()).select_from(queue)).scalar_one()
        )


def test_a_claim_is_one_statement_on_the_queue_and_the_queue_follows_the_timers(
    engine: CycleEngine, clock: ManualClock
) -> None:
    cycle = engine.start_cycle("rapid-cycle", "Market access", standalone=True)
    assert cycle.id is not None
    open_timers = engine.timers.list_timers(cycle.id, status=PENDING)
    assert open_timers and queued(engine) == len(open_timers)
    clock.set(START + timedelta(days=3))
    due = [t for t in open_timers if t.due_at <= clock.now()]
    assert due, "nothing due three days in"

    sent: list[str] = []
    with watch(engine.db.engine, lambda statement: sent.append(" ".join(statement.split()))):
        claims = claim_due(engine.db, "w1", clock.now(), limit=100)
    assert [c.id for c in claims] == [t.id for t in due]
    assert len(sent) == 1 and sent[0].startswith("UPDATE timer_queue"), sent
    # the wide timer rows are neither written nor read: the queue row has all a claim needs
    assert not re.search(r"\btimers\b", sent[0]), sent

    leased = engine.timers.list_timers(cycle.id, status=CLAIMED)
    assert [(t.id, t.lease_owner) for t in leased] == [(t.id, "w1") for t in due]
    assert claim_due(engine.db, "w2", clock.now()) == []  # leased: nobody else takes them
    assert release_timers(engine.db, "w1", [due[0].id or 0]) == 1
    assert [c.id for c in claim_due(engine.db, "w2", clock.now())] == [due[0].id]
    clock.advance(timedelta(minutes=6))  # w1's lease ended without firing: due again
    assert {c.id for c in claim_due(engine.db, "w3", clock.now())} == {t.id for t in due}

    engine.timers.run_due_timers(clock.now() + timedelta(minutes=6))  # fires them all
    remaining = engine.timers.list_timers(cycle.id, status=PENDING)
    assert queued(engine) == len(remaining) and len(remaining) < len(open_timers)
    engine.fire(cycle.id, "cancel", note="test")  # the stage's timers are cancelled
    assert queued(engine) == 0
