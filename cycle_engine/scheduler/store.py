"""Timer rows from plans: create, move and cancel inside the caller's transaction.

Never commits ("helpers don't"). Each (visit, rule) has a chain of rows numbered by
`occurrence`; the newest row of a rule is moved in place while it has not fired, and a new
occurrence is added when a rule that already fired gets a new future time (a deadline moved
later). So `dedupe_key` (cycle, visit, stage, rule, occurrence) stays unique and a timer never
exists twice.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert, text, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from cycle_engine.scheduler.rules import PlannedTimer
from cycle_engine.store.events import core_connection
from cycle_engine.store.prepared import Prepared, run, run_many
from cycle_engine.store.tables import StageRecord
from cycle_engine.store.tables.timers import CANCELLED, CLAIMED, PENDING, REMINDER, TimerRecord

OPEN_STATUSES = (PENDING, CLAIMED)

_TIMERS: Table = TimerRecord.__table__  # type: ignore[attr-defined]
_INSERT = Prepared(insert(_TIMERS))
_CANCEL_VALUES = {"status": CANCELLED, "lease_owner": None, "lease_until": None}
_CANCEL_VISIT = (
    update(_TIMERS)
    .where(
        _TIMERS.c.stage_visit_id == bindparam("visit_id"),
        text(f"timers.status IN ('{PENDING}', '{CLAIMED}')"),  # a literal list renders once
    )
    .values(**_CANCEL_VALUES)
)
_CANCEL_VISIT_PREPARED = Prepared(_CANCEL_VISIT)


def dedupe_key(
    cycle_id: int | None,
    visit_id: int | None,
    stage: str | None,
    rule: str,
    occurrence: int,
    person_id: int | None = None,
) -> str:
    """The unique key of one timer: cycle, stage visit, rule, occurrence (and person)."""
    key = f"c{cycle_id}/v{visit_id}/{stage}/{rule}/{occurrence}"
    return key if person_id is None else f"{key}/p{person_id}"


def timer_row(
    cycle_id: int | None,
    visit: StageRecord | None,
    planned: PlannedTimer,
    occurrence: int,
    now: datetime,
    *,
    person_id: int | None = None,
) -> dict[str, Any]:
    """The column values of a pending row for `planned`."""
    visit_id = visit.id if visit is not None else None
    stage = visit.stage if visit is not None else None
    payload: dict[str, Any] = {**planned.payload, "nominal_at": planned.nominal_at.isoformat()}
    return {
        "kind": planned.kind,
        "cycle_id": cycle_id,
        "stage_visit_id": visit_id,
        "stage": stage,
        "rule": planned.rule,
        "occurrence": occurrence,
        "person_id": person_id,
        "due_at": planned.due_at,
        "status": PENDING,
        "lease_owner": None,
        "lease_until": None,
        "late": False,
        "fired_at": None,
        "created_at": now,
        "attempts": 0,
        "last_error": None,
        "payload": payload,
        "dedupe_key": dedupe_key(cycle_id, visit_id, stage, planned.rule, occurrence, person_id),
    }


def new_timer(
    cycle_id: int | None,
    visit: StageRecord | None,
    planned: PlannedTimer,
    occurrence: int,
    now: datetime,
    *,
    person_id: int | None = None,
) -> TimerRecord:
    """A pending row for `planned` (not added to any session)."""
    return TimerRecord(**timer_row(cycle_id, visit, planned, occurrence, now, person_id=person_id))


def insert_timers(session: Session, rows: list[dict[str, Any]]) -> None:
    """INSERT rows made by `timer_row` in one statement (no ORM objects)."""
    run_many(session, _INSERT, rows)


def move_timer(timer: TimerRecord, planned: PlannedTimer) -> None:
    """Point an unfired row at a new time (back to pending, any lease dropped)."""
    timer.due_at = planned.due_at
    timer.payload = {**planned.payload, "nominal_at": planned.nominal_at.isoformat()}
    timer.status = PENDING
    timer.lease_owner = None
    timer.lease_until = None


def newest_by_rule(
    session: Session, visit_id: int, kinds: Collection[str]
) -> dict[str, TimerRecord]:
    """The newest row of each rule of the visit among `kinds`."""
    rows = session.exec(
        select(TimerRecord)
        .where(TimerRecord.stage_visit_id == visit_id, col(TimerRecord.kind).in_(list(kinds)))
        .order_by(col(TimerRecord.occurrence))
    ).all()
    return {row.rule: row for row in rows}


def sync_visit_timers(
    session: Session,
    cycle_id: int,
    visit: StageRecord,
    planned: Iterable[PlannedTimer],
    now: datetime,
    kinds: Collection[str],
    *,
    fresh: bool = False,
) -> None:
    """Make the visit's timers of `kinds` match `planned`.

    Reminders whose moment has already passed when the plan is made are not created (nobody
    missed them); the deadline and overdue timers are clamped to `now` so they fire at once.
    Rules no longer planned lose their unfired row. `fresh`: the visit has no timers yet, so
    the plan is inserted as it is, without looking for rows to move.
    """
    assert visit.id is not None
    if fresh:
        insert_timers(
            session, [timer_row(cycle_id, visit, plan, 1, now) for plan in _clamped(planned, now)]
        )
        return
    newest = newest_by_rule(session, visit.id, kinds)
    wanted: set[str] = set()
    for plan in _clamped(planned, now):
        wanted.add(plan.rule)
        row = newest.get(plan.rule)
        if row is None:
            session.add(new_timer(cycle_id, visit, plan, 1, now))
        elif row.status in OPEN_STATUSES:
            move_timer(row, plan)
            session.add(row)
        elif plan.due_at > now and row.payload.get("nominal_at") != plan.nominal_at.isoformat():
            session.add(new_timer(cycle_id, visit, plan, row.occurrence + 1, now))
    for rule, row in newest.items():
        if rule not in wanted and row.status in OPEN_STATUSES:
            cancel_row(row, "replanned")
            session.add(row)


def _clamped(planned: Iterable[PlannedTimer], now: datetime) -> list[PlannedTimer]:
    """The plan without reminders already past, with past deadlines moved to `now`."""
    result = []
    for plan in planned:
        if plan.due_at < now:
            if plan.kind == REMINDER:
                continue
            plan = PlannedTimer(
                kind=plan.kind,
                rule=plan.rule,
                due_at=now,
                nominal_at=plan.nominal_at,
                payload=plan.payload,
            )
        result.append(plan)
    return result


def add_next(
    session: Session,
    previous: TimerRecord,
    visit: StageRecord,
    plan: PlannedTimer,
    now: datetime,
) -> TimerRecord:
    """The next occurrence in a chain (overdue series, stall check after activity)."""
    row = new_timer(previous.cycle_id, visit, plan, previous.occurrence + 1, now)
    session.add(row)
    return row


def cancel_row(row: TimerRecord, reason: str) -> None:
    row.status = CANCELLED
    row.lease_owner = None
    row.lease_until = None
    row.payload = {**row.payload, "cancelled_because": reason}


def cancel_visit_timers(session: Session, visit_id: int) -> int:
    """Cancel every unfired timer of a visit (the stage was left); returns how many.

    Timer objects of the visit already in the session get the same values.
    """
    loaded = [
        obj
        for obj in session.identity_map.values()
        if isinstance(obj, TimerRecord) and obj.stage_visit_id == visit_id
    ]
    if not loaded:
        return run(session, _CANCEL_VISIT_PREPARED, {"visit_id": visit_id})
    connection = core_connection(session)
    ids = set(
        connection.execute(_CANCEL_VISIT.returning(_TIMERS.c.id), {"visit_id": visit_id}).scalars()
    )
    for timer in loaded:
        if timer.id in ids:
            for name, value in _CANCEL_VALUES.items():
                set_committed_value(timer, name, value)
    return len(ids)
