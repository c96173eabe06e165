"""Nudging a step: a coordinator or manager prods the people of a cycle's open stage.

A nudge is one command: it appends a `nudged` event naming the stage visit, and the outbox
listener queues a reminder to the stage's focal point, deputy, lead and active organisations in
the same transaction. One nudge per step per NUDGE_INTERVAL, so a double click sends one email.
A nudge is not activity on the stage: it does not clear stall flags (see the scheduler listener).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from cycle_engine.actors import Actor
from cycle_engine.changes import Change, Changes
from cycle_engine.errors import ActionNotAllowed
from cycle_engine.store.events import append_event, current_visit, lock_cycle
from cycle_engine.store.tables import ACTIVE, EventRecord
from cycle_engine.store.tables.outbox import OutboxRecord
from cycle_engine.store.templates import TemplateStore

NUDGE_INTERVAL = timedelta(hours=12)
NUDGE_TO = ("focal_point", "deputy", "lead", "active")


def nudge(
    session: Session,
    templates: TemplateStore,
    changes: Changes,
    cycle_id: int,
    *,
    actor: Actor,
    now: datetime,
    note: str | None = None,
) -> int:
    """Nudge the people of the cycle's open stage; returns how many emails were queued.

    Works inside the caller's transaction (never commits).

    Raises:
        CycleNotFound: no such cycle.
        ActionNotAllowed: the cycle is finished, has no open stage, or was nudged recently.
    """
    cycle = lock_cycle(session, cycle_id)
    visit = current_visit(session, cycle)
    if cycle.status != ACTIVE or visit is None or visit.left_at is not None:
        raise ActionNotAllowed("nudge", f"cycle {cycle_id} has no open step")
    recent = session.exec(
        select(EventRecord)
        .where(
            EventRecord.cycle_id == cycle_id,
            EventRecord.kind == "nudged",
            col(EventRecord.at) > now - NUDGE_INTERVAL,
        )
        .order_by(col(EventRecord.seq).desc())
    ).first()
    if recent is not None and recent.data.get("stage_visit_id") == visit.id:
        raise ActionNotAllowed(
            "nudge",
            f"this step was nudged at {recent.at:%Y-%m-%d %H:%M} UTC; wait before nudging again",
        )
    spec = templates.spec(session, cycle.template_id)
    before = _queued(session, cycle_id)
    event = append_event(
        session,
        cycle,
        kind="nudged",
        actor=actor,
        now=now,
        note=note,
        data={"stage_visit_id": visit.id, "stage": visit.stage, "to": list(NUDGE_TO)},
    )
    session.flush()
    changes.record(
        Change(session=session, cycle=cycle, spec=spec, event=event, actor=actor, now=now)
    )
    session.flush()
    return _queued(session, cycle_id) - before


def _queued(session: Session, cycle_id: int) -> int:
    count = session.exec(
        select(func.count()).select_from(OutboxRecord).where(OutboxRecord.cycle_id == cycle_id)
    ).one()
    return int(count)
