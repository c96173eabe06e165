"""Everything a migration of one cycle looks at, read in one session: the cycle, its open stage
visit, the visit whose deadline counts, the stages it ever entered, its work plan, the open
visit's timers and active stall flags, and its alliance's calendar.

The preview reads a snapshot in a read session; apply reads it again on the locked cycle, inside
the transaction that migrates it, so both plan from the same facts. The deadline helpers here
compute dates exactly as the work plan (`alliances.workplan`) and the scheduler do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from cycle_engine.alliances.workplan import due_after, plan_rows
from cycle_engine.scheduler.rules import calendar_for_cycle
from cycle_engine.scheduler.stalled import active_flags
from cycle_engine.scheduler.working_hours import WorkingCalendar, parse_weekend_days
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.store.events import current_visit
from cycle_engine.store.tables import CycleRecord, StageRecord, TemplateRecord
from cycle_engine.store.tables.alliances import AllianceRecord, PlanRecord
from cycle_engine.store.tables.timers import StallRecord, TimerRecord
from cycle_engine.store.templates import TemplateStore

TIMER_KINDS = ("reminder", "due", "overdue", "stall")


@dataclass(kw_only=True)
class CycleSnapshot:
    """One cycle as a migration sees it (rows of the session it was read in)."""

    cycle: CycleRecord
    record: TemplateRecord
    spec: TemplateSpec
    visit: StageRecord | None
    work_visit: StageRecord | None
    visited: frozenset[str]
    plan: list[PlanRecord]
    timers: list[TimerRecord]
    flags: list[StallRecord]
    alliance: AllianceRecord | None
    calendar: WorkingCalendar

    @property
    def timezone(self) -> str:
        return self.alliance.timezone if self.alliance is not None else "UTC"

    @property
    def work_stage(self) -> str:
        """The stage whose deadline counts: the current one, or where a paused cycle paused."""
        return self.cycle.resume_state or self.cycle.state

    def plan_row(self, stage: str) -> PlanRecord | None:
        return next((row for row in self.plan if row.stage == stage), None)

    def end(self, start: datetime, duration: timedelta) -> datetime:
        """When a stage starting at `start` and lasting `duration` is due: the end of that
        working day in the alliance's zone (the work plan's rule), or exactly, without one."""
        if self.alliance is None:
            return start + duration
        return due_after(self.alliance, start, duration)

    def shift(self, due: datetime, delta: timedelta) -> datetime:
        """`due` moved by `delta` on the alliance's local calendar (DST-safe), then past any
        weekend day it lands on, keeping its time of day."""
        moved = self.calendar.shift(due, delta)
        if self.alliance is None:
            return moved
        weekend = parse_weekend_days(self.alliance.weekend_days)
        local = moved.astimezone(ZoneInfo(self.alliance.timezone))
        for _ in range(7):
            if local.weekday() not in weekend:
                break
            local += timedelta(days=1)  # wall-clock: same time of day
        return local.astimezone(UTC)


def load_snapshot(session: Session, cycle: CycleRecord, store: TemplateStore) -> CycleSnapshot:
    """The snapshot of `cycle` (already loaded, or locked, in `session`)."""
    assert cycle.id is not None
    record = session.get(TemplateRecord, cycle.template_id)
    assert record is not None and record.id is not None
    visit = current_visit(session, cycle)
    work_visit = visit
    if cycle.resume_state is not None:  # paused: the deadline is the paused-at stage's
        work_visit = session.exec(
            select(StageRecord)
            .where(StageRecord.cycle_id == cycle.id, StageRecord.stage == cycle.resume_state)
            .order_by(col(StageRecord.visit).desc())
        ).first()
    visited = frozenset(
        session.exec(select(StageRecord.stage).where(StageRecord.cycle_id == cycle.id)).all()
    )
    timers: list[TimerRecord] = []
    flags: list[StallRecord] = []
    if visit is not None and visit.id is not None:
        timers = list(
            session.exec(
                select(TimerRecord)
                .where(
                    TimerRecord.stage_visit_id == visit.id,
                    col(TimerRecord.kind).in_(TIMER_KINDS),
                )
                .order_by(col(TimerRecord.occurrence), col(TimerRecord.id))
            )
        )
        flags = active_flags(session, visit.id)
    alliance = session.get(AllianceRecord, cycle.alliance_id) if cycle.alliance_id else None
    return CycleSnapshot(
        cycle=cycle,
        record=record,
        spec=store.spec(session, record.id),
        visit=visit,
        work_visit=work_visit,
        visited=visited,
        plan=plan_rows(session, cycle.id) if alliance is not None else [],
        timers=timers,
        flags=flags,
        alliance=alliance,
        calendar=calendar_for_cycle(session, cycle),
    )
