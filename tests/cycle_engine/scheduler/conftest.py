"""Fixtures for the scheduler tests: a small template with every timer rule, helpers that run
the worker at each due moment of a ManualClock, and bulk timer rows for the multi-worker tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import insert

from cycle_engine import CycleEngine
from cycle_engine.scheduler.claim import next_due_at
from cycle_engine.scheduler.listener import SCHEDULER_EVENT_KINDS
from cycle_engine.scheduler.store import dedupe_key
from cycle_engine.store.tables import EventRecord
from cycle_engine.store.tables.timers import REMINDER, TimerRecord
from cycle_engine.testing import ManualClock

PILOT = """
key: sched-pilot
title: Scheduler pilot
initial: draft
defaults:
  reminders:
    - {name: kickoff, after_entry: P0D}
    - {name: week_before, before_due: P7D}
    - {name: day_before, before_due: P1D}
    - {name: due_today, before_due: P0D, late: send_latest}
  overdue: {every: P3D, escalate_after: 2}
  stall: {after: P10D}
stages:
  - {key: draft, title: Draft, duration: P3W}
  - {key: review, title: Review, duration: P2W}
  - {key: done, title: Done, final: true}
transitions:
  - {trigger: submit, from: draft, to: review}
  - {trigger: approve, from: review, to: done}
"""

PLAIN = """
key: plain
title: Plain stages without reminders
initial: work
stages:
  - {key: work, title: Work, duration: P52W, reminders: [], overdue: null, stall: null}
  - {key: done, title: Done, final: true}
transitions:
  - {trigger: finish, from: work, to: done}
"""


@dataclass(frozen=True)
class Fired:
    kind: str
    rule: str | None
    at: datetime
    data: dict[str, object]


@pytest.fixture
def pilot(engine: CycleEngine) -> CycleEngine:
    engine.templates.publish(PILOT, "sched_pilot.yaml")
    engine.templates.publish(PLAIN, "plain.yaml")
    engine.publish_builtin_templates()
    return engine


def scheduler_events(engine: CycleEngine, cycle_id: int) -> list[Fired]:
    return [
        Fired(e.kind, e.data.get("rule"), e.at, e.data)  # type: ignore[arg-type]
        for e in engine.history(cycle_id)
        if e.kind in SCHEDULER_EVENT_KINDS
    ]


def drain(engine: CycleEngine, clock: ManualClock, until: datetime) -> None:
    """Move the clock to each due moment up to `until` and run the due timers there."""
    while True:
        moment = next_due_at(engine.db)
        if moment is None or moment > until:
            break
        clock.set(max(moment, clock.now()))
        engine.run_due_timers()
    clock.set(max(until, clock.now()))


def bulk_timers(engine: CycleEngine, count: int, due_at: datetime, cycles: int = 20) -> None:
    """`count` pending reminder rows spread over `cycles` fresh cycles, all due at `due_at`."""
    visits = []
    for number in range(cycles):
        cycle = engine.start_cycle("plain", f"Bulk cycle {number}", standalone=True)
        assert cycle.id is not None and cycle.current_stage_id is not None
        visits.append((cycle.id, cycle.current_stage_id))
    rows = []
    for number in range(count):
        cycle_id, visit_id = visits[number % cycles]
        rule = f"bulk{number}"
        rows.append(
            {
                "kind": REMINDER,
                "cycle_id": cycle_id,
                "stage_visit_id": visit_id,
                "stage": "work",
                "rule": rule,
                "occurrence": 1,
                "due_at": due_at,
                "status": "pending",
                "late": False,
                "created_at": due_at,
                "attempts": 0,
                "dedupe_key": dedupe_key(cycle_id, visit_id, "work", rule, 1),
                "payload": {"late_policy": "send_latest", "to": ["focal_point"]},
            }
        )
    with engine.db.transaction() as session:
        session.connection().execute(insert(TimerRecord.__table__), rows)  # type: ignore[attr-defined]


def reminder_events_by_timer(engine: CycleEngine) -> dict[int, int]:
    """How many reminder_due events each timer id produced."""
    from sqlmodel import select

    counts: dict[int, int] = {}
    with engine.db.read_session() as session:
        for data in session.exec(
            select(EventRecord.data).where(EventRecord.kind == "reminder_due")
        ):
            timer_id = int(data["timer_id"])
            counts[timer_id] = counts.get(timer_id, 0) + 1
    return counts


def days(n: float) -> timedelta:
    return timedelta(days=n)
