"""How the scheduler is doing, in numbers an operator can alert on: timers due, claimed and late,
the oldest due timer, and stalled and overdue cycles per alliance.

Metrics scrapes (`cycle_engine.metrics`) read these on every scrape, so each is one aggregate
query over an index the scheduler already keeps (the timer due-queue by due time, its leased
rows, active stall flags, open visits by deadline), and stalled and overdue keep the one meaning
every list of cycles uses (`cycles.listing`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, distinct, func, select
from sqlmodel import Session, col

from cycle_engine.cycles.listing import flag_of_current_visit, open_current_visit, overdue_at
from cycle_engine.store.tables import ACTIVE, CycleRecord, StageRecord
from cycle_engine.store.tables.alliances import AllianceRecord
from cycle_engine.store.tables.timers import StallRecord, TimerQueueRecord


@dataclass(frozen=True, kw_only=True)
class TimerHealth:
    """Timers at one instant: due and waiting, claimed by a worker, due for longer than
    `late_after` (a worker is missing or behind), and when the oldest due timer fell due."""

    due: int
    claimed: int
    late: int
    oldest_due_at: datetime | None

    def oldest_due_age(self, now: datetime) -> float:
        """Seconds the oldest due timer has waited (0 when none waits)."""
        if self.oldest_due_at is None:
            return 0.0
        return max(0.0, (now - self.oldest_due_at).total_seconds())


@dataclass(frozen=True, kw_only=True)
class AllianceHealth:
    """Stalled and overdue cycles of one alliance (`alliance_id` None: cycles of none)."""

    alliance_id: int | None
    name: str
    stalled: int
    overdue: int


def timer_health(session: Session, now: datetime, late_after: timedelta) -> TimerHealth:
    """Counts of due, claimed and late timers at `now`, and the oldest due time (all read from
    the due-queue: a due timer is an unleased queue row due by now)."""
    queue: Table = TimerQueueRecord.__table__  # type: ignore[attr-defined]
    connection = session.connection()
    due, oldest, late = connection.execute(
        select(
            func.count(),
            func.min(queue.c.due_at),
            func.count().filter(queue.c.due_at <= now - late_after),
        ).where(queue.c.due_at <= now, queue.c.lease_owner.is_(None))
    ).one()
    claimed = connection.execute(
        select(func.count()).select_from(queue).where(queue.c.lease_owner.is_not(None))
    ).scalar_one()
    return TimerHealth(
        due=int(due or 0), claimed=int(claimed or 0), late=int(late or 0), oldest_due_at=oldest
    )


def alliance_health(session: Session, now: datetime) -> list[AllianceHealth]:
    """Stalled and overdue cycles per alliance (alliances with neither are listed with zeros)."""
    connection = session.connection()
    overdue_rows = connection.execute(
        select(col(CycleRecord.alliance_id), func.count())
        .select_from(StageRecord)
        .join(CycleRecord, col(CycleRecord.current_stage_id) == StageRecord.id)
        .where(overdue_at(now))
        .group_by(col(CycleRecord.alliance_id))
    ).all()
    stalled_rows = connection.execute(
        select(col(CycleRecord.alliance_id), func.count(distinct(col(CycleRecord.id))))
        .select_from(StallRecord)
        .join(CycleRecord, flag_of_current_visit())
        .join(StageRecord, open_current_visit())
        .where(col(CycleRecord.status) == ACTIVE)
        .group_by(col(CycleRecord.alliance_id))
    ).all()
    overdue = {alliance: int(count) for alliance, count in overdue_rows}
    stalled = {alliance: int(count) for alliance, count in stalled_rows}
    alliances = connection.execute(select(col(AllianceRecord.id), col(AllianceRecord.name)))
    names: dict[int | None, str] = {alliance_id: name for alliance_id, name in alliances}
    if None in overdue or None in stalled:
        names[None] = "(none)"
    return [
        AllianceHealth(
            alliance_id=alliance_id,
            name=name,
            stalled=stalled.get(alliance_id, 0),
            overdue=overdue.get(alliance_id, 0),
        )
        for alliance_id, name in names.items()
    ]
