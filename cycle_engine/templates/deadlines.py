"""Dates in a migration: the deadline of the stage that counts, the work plan after it, and
the deadlines that move, appear or are cancelled, as the preview lists them.

The deadline of a cycle's stage is unchanged while its duration is; else it moves by the change
in duration on the alliance's calendar (past a weekend day), except a deadline a coordinator set
by hand. In the work plan (alliance cycles only) the stages a cycle entered keep their dates, the
current stage gets its new deadline, stages not entered yet are re-planned from the new durations
(or keep their dates, by the plan's rule; dates set by hand are kept either way), new stages are
planned after the one before them, and removed stages go.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cycle_engine.spec.specs import StageSpec, TemplateSpec
from cycle_engine.store.tables.alliances import PlanRecord
from cycle_engine.store.tables.templates import KEEP, REPLAN
from cycle_engine.templates.snapshot import CycleSnapshot
from cycle_engine.templates.words import local


@dataclass(frozen=True, kw_only=True)
class MigrationRule:
    """How cycles move: `stage_map` (old stage key -> new one; unnamed stages keep their key)
    and what happens to the planned dates of stages not entered yet (`replan` or `keep`)."""

    stage_map: Mapping[str, str] = field(default_factory=dict)
    unentered: str = REPLAN

    def map(self, stage: str) -> str:
        return self.stage_map.get(stage, stage)


@dataclass(frozen=True, kw_only=True)
class MomentChange:
    """A deadline or timer that moves, appears or is cancelled (`before`/`after` None)."""

    what: str  # "deadline", or a timer kind: reminder, due, overdue, stall
    stage: str
    stage_title: str
    rule: str
    before: datetime | None
    after: datetime | None
    note: str = ""

    @property
    def change(self) -> str:
        if self.before is None:
            return "appears"
        return "cancelled" if self.after is None else "moves"

    @property
    def label(self) -> str:
        """What it is, in words ("deadline of Prototype", "reminder “week_before”")."""
        if self.what == "deadline":
            return f"deadline of {self.stage_title}"
        if self.what == "reminder":
            return f"reminder “{self.rule}”"
        return {"due": "overdue from", "overdue": "next overdue reminder"}.get(
            self.what, "stall check"
        )

    def text(self, timezone: str) -> str:
        """The change in words, its times in `timezone` ("Mon 2 Mar 2026, 17:00 → ...")."""
        if self.before is None:
            said = f"new: {local(self.after, timezone)}"
        elif self.after is None:
            said = f"cancelled (was {local(self.before, timezone)})"
        else:
            said = f"{local(self.before, timezone)} → {local(self.after, timezone)}"
        return f"{said} ({self.note})" if self.note else said


@dataclass(frozen=True, kw_only=True)
class PlannedStage:
    """One row of the work plan after the migration (`row_id`: the row it reuses)."""

    stage: str
    position: int
    start: datetime
    due: datetime
    original_due: datetime
    changes: int = 0
    row_id: int | None = None


def new_deadline(snap: CycleSnapshot, old: StageSpec, new: StageSpec) -> datetime | None:
    """The deadline of the stage that counts (see the module docstring)."""
    visit = snap.work_visit
    if visit is None:
        return None
    due = visit.due_at
    if old.duration == new.duration or new.duration is None:
        return due
    if due is None or old.duration is None:
        return snap.end(visit.entered_at, new.duration)
    row = snap.plan_row(snap.work_stage)
    if row is not None and visit.visit == 1 and row.changes > 0:
        return due  # a coordinator set it by hand
    return snap.shift(due, new.duration - old.duration)


def replan(
    snap: CycleSnapshot,
    target: TemplateSpec,
    rule: MigrationRule,
    work_after: str,
    due_after: datetime | None,
) -> list[PlannedStage]:
    """The work plan after the migration (see the module docstring)."""
    old: dict[str, PlanRecord] = {}
    for existing in sorted(snap.plan, key=lambda r: r.position):
        old.setdefault(rule.map(existing.stage), existing)
    visited = {rule.map(stage) for stage in snap.visited}
    first_visit = snap.work_visit is None or snap.work_visit.visit == 1
    rows: list[PlannedStage] = []
    previous_due = snap.cycle.started_at
    for position, stage in enumerate(target.work_stages):
        row = old.get(stage.key)
        duration = stage.duration or timedelta(0)
        if stage.key == work_after and first_visit:
            start = row.planned_start if row else _entered(snap, previous_due)
            due = due_after or (row.planned_due if row else snap.end(start, duration))
        elif row is not None and (stage.key in visited or rule.unentered == KEEP or row.changes):
            start, due = row.planned_start, row.planned_due
        else:
            start, due = previous_due, snap.end(previous_due, duration)
        rows.append(
            PlannedStage(
                stage=stage.key,
                position=position,
                start=start,
                due=due,
                original_due=row.original_due if row else due,
                changes=row.changes if row else 0,
                row_id=row.id if row else None,
            )
        )
        previous_due = due
    return rows


def _entered(snap: CycleSnapshot, fallback: datetime) -> datetime:
    return snap.work_visit.entered_at if snap.work_visit is not None else fallback


def deadline_changes(
    snap: CycleSnapshot,
    target: TemplateSpec,
    rule: MigrationRule,
    work_after: str,
    due_before: datetime | None,
    due_after: datetime | None,
    plan: list[PlannedStage] | None,
) -> list[MomentChange]:
    before: dict[str, datetime] = {rule.map(row.stage): row.planned_due for row in snap.plan}
    after: dict[str, datetime] = {row.stage: row.due for row in plan or ()}
    for moments, due in ((before, due_before), (after, due_after)):
        moments.pop(work_after, None)
        if due is not None:
            moments[work_after] = due
    order = [s.key for s in target.work_stages]
    order += [key for key in before if key not in order]
    current = order.index(work_after) if work_after in order else len(order)
    visited = {rule.map(stage) for stage in snap.visited}
    changes = []
    for position, key in enumerate(order):
        if before.get(key) == after.get(key):
            continue
        note = ""
        if key == work_after and snap.cycle.resume_state is not None:
            note = "counts from when the cycle resumes, plus the time it was paused"
        elif position < current and key not in visited:
            note = "a stage the cycle has already passed"
        title = _title(target, key) if target.has_stage(key) else _title(snap.spec, key)
        changes.append(
            MomentChange(
                what="deadline",
                stage=key,
                stage_title=title,
                rule="deadline",
                before=before.get(key),
                after=after.get(key),
                note=note,
            )
        )
    return changes


def _title(spec: TemplateSpec, key: str) -> str:
    return spec.stage(key).title if spec.has_stage(key) else key
