"""The work plan: planned start and due dates of every work stage of a cycle.

Dates are computed in the alliance's time zone: each stage starts when the one before is due,
lasts the template's duration on the wall clock (so DST does not shift a deadline by an hour),
and is due at the end of the working day, moved past weekend days. A coordinator may move a
stage's due date with a reason; later stages are re-planned and the change is in the history.
A first visit of a stage is due when the plan says (`store.events.insert_visit` reads the plan's
date inside its INSERT).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from cycle_engine.alliances.common import (
    CycleOp,
    require_organiser,
    require_text,
    require_work_stage,
)
from cycle_engine.alliances.participation import finished_stages
from cycle_engine.errors import ActionNotAllowed, InputConflict, InvalidInput
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.store.tables import CycleRecord, StageRecord
from cycle_engine.store.tables.alliances import AllianceRecord, PlanRecord


def end_of_working_day(alliance: AllianceRecord, day: date) -> datetime:
    """The end of the working day on `day` (or the next working day) in the alliance's zone."""
    weekend = {int(d) for d in alliance.weekend_days.split(",") if d}
    while day.weekday() in weekend:
        day += timedelta(days=1)
    local = datetime.combine(
        day, time(alliance.working_hours_end % 24), ZoneInfo(alliance.timezone)
    )
    if alliance.working_hours_end == 24:
        local += timedelta(days=1)
    return local.astimezone(UTC)


def due_after(alliance: AllianceRecord, start: datetime, duration: timedelta) -> datetime:
    """When a stage that starts at `start` and lasts `duration` is due."""
    local_end = start.astimezone(ZoneInfo(alliance.timezone)) + duration  # wall-clock arithmetic
    return end_of_working_day(alliance, local_end.date())


def build_plan(
    session: Session, cycle: CycleRecord, spec: TemplateSpec, alliance: AllianceRecord
) -> list[PlanRecord]:
    """Plan every work stage from the cycle's start (adds rows; does not commit)."""
    assert cycle.id is not None
    rows: list[PlanRecord] = []
    start = cycle.started_at
    for position, stage in enumerate(spec.work_stages):
        due = due_after(alliance, start, stage.duration or timedelta(0))
        row = PlanRecord(
            cycle_id=cycle.id,
            stage=stage.key,
            position=position,
            planned_start=start,
            planned_due=due,
            original_due=due,
        )
        session.add(row)
        rows.append(row)
        start = due
    session.flush()
    return rows


def plan_rows(session: Session, cycle_id: int) -> list[PlanRecord]:
    return list(
        session.exec(
            select(PlanRecord)
            .where(PlanRecord.cycle_id == cycle_id)
            .order_by(col(PlanRecord.position))
        )
    )


def _as_due(alliance: AllianceRecord, value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidInput("due", f"give a time zone with {value.isoformat()}")
        return value.astimezone(UTC)
    return end_of_working_day(alliance, value)


def move_due_date(
    op: CycleOp, *, stage: str, due: date | datetime, reason: str
) -> list[PlanRecord]:
    """Move `stage`'s due date and re-plan every later stage; returns the whole plan.

    A date means the end of that working day in the alliance's zone. Raises InvalidInput for an
    empty reason or a date before the cycle (or the stage) starts, ActionNotAllowed for a
    finished stage or a non-coordinator.
    """
    require_organiser(op.actor, "move a due date")
    op.require_active("move a due date")
    require_work_stage(op.spec, stage)
    reason = require_text("reason", reason, max_length=2000)
    alliance = op.alliance()
    rows = plan_rows(op.session, op.cycle_id)
    if not rows:
        raise ActionNotAllowed("move a due date", f"cycle {op.cycle_id} has no work plan")
    if stage in finished_stages(op.spec, op.cycle):
        raise ActionNotAllowed(f"move the due date of {stage!r}", "that stage is already finished")
    new_due = _as_due(alliance, due)
    if new_due <= op.cycle.started_at:
        raise InputConflict(
            "due",
            f"{new_due.isoformat()} is before the cycle starts ({op.cycle.started_at.isoformat()})",
        )
    index = next(i for i, row in enumerate(rows) if row.stage == stage)
    target = rows[index]
    if new_due <= target.planned_start:
        raise InputConflict(
            "due",
            f"{new_due.isoformat()} is before stage {stage!r} is planned to start "
            f"({target.planned_start.isoformat()})",
        )
    old_due = target.planned_due
    target.planned_due = new_due
    target.changes += 1
    replanned: dict[str, dict[str, str]] = {}
    start = new_due
    for row in rows[index + 1 :]:
        duration = op.spec.stage(row.stage).duration or timedelta(0)
        row.planned_start = start
        row.planned_due = due_after(alliance, start, duration)
        replanned[row.stage] = {"start": start.isoformat(), "due": row.planned_due.isoformat()}
        start = row.planned_due
    for row in rows:
        op.session.add(row)
    visit = _current_visit(op)
    if visit is not None and visit.stage == stage:
        visit.due_at = new_due
        op.session.add(visit)
    op.session.flush()
    op.emit(
        "due_date_moved",
        {
            "stage": stage,
            "old_due": old_due.isoformat(),
            "new_due": new_due.isoformat(),
            "reason": reason,
            "replanned": replanned,
        },
        note=reason,
        entered=visit,
    )
    return rows


def _current_visit(op: CycleOp) -> StageRecord | None:
    if op.cycle.current_stage_id is None:
        return None
    return op.session.get(StageRecord, op.cycle.current_stage_id)
