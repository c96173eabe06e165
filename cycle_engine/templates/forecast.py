"""What moving one running cycle to another template version does, worked out before anything
changes: the preview shows it, and apply carries out exactly these decisions.

For a cycle and a rule (stage mapping, what happens to stages not entered yet) the forecast says:

- its stage before and after (a paused cycle keeps its pause; the stage it paused in is mapped);
- its deadline: unchanged while the stage's duration is; else it moves by the change in duration
  on the alliance's calendar (past a weekend day), except a deadline a coordinator set by hand;
- its work plan (alliance cycles): stages it entered keep their dates, the current stage gets its
  new deadline, stages not entered yet are re-planned from the new durations (or keep their
  planned dates), new stages are planned after the one before them, removed stages go;
- its timers (`templates.timers`), the stall flags the new rules lift, and the guards of the new
  version that would block it now and did not before;
- or why it cannot move (its stage is gone and the plan maps it nowhere, a stage of another kind,
  finished), or that it already runs on the target.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from cycle_engine.spec.specs import StageSpec, TemplateSpec
from cycle_engine.store.tables import FINISHED, StageRecord, TemplateRecord
from cycle_engine.store.tables.timers import NO_ACTIVITY, OVERDUE_ESCALATED
from cycle_engine.templates.deadlines import (
    MigrationRule,
    MomentChange,
    PlannedStage,
    deadline_changes,
    new_deadline,
    replan,
)
from cycle_engine.templates.snapshot import CycleSnapshot
from cycle_engine.templates.timers import TimerDecision, pending_after, plan_timers
from cycle_engine.templates.words import stage_kind, words

Outcome = Literal["migrate", "current", "blocked"]


@dataclass(frozen=True, kw_only=True)
class GuardBlock:
    """A trigger the new version would block now, with the reasons."""

    trigger: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class VisitChange:
    """A stage visit's key and deadline after the migration."""

    visit_id: int
    stage: str
    due_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class CycleForecast:
    """What migrating one cycle does (see the module docstring)."""

    cycle_id: int
    title: str
    alliance_id: int | None
    timezone: str
    cycle_version: int
    template_before: str
    template_after: str
    outcome: Outcome
    reason: str | None = None
    stage_before: str
    stage_before_title: str
    stage_after: str | None = None
    stage_after_title: str | None = None
    paused: bool = False
    deadlines: tuple[MomentChange, ...] = ()
    timers: tuple[MomentChange, ...] = ()
    newly_blocking: tuple[GuardBlock, ...] = ()
    flags_cleared: tuple[str, ...] = ()
    due_after: datetime | None = None
    plan_after: tuple[PlannedStage, ...] | None = None
    timers_after: tuple[tuple[str, str, datetime], ...] = ()
    resume_after: str | None = None
    visits: tuple[VisitChange, ...] = field(default=(), repr=False)
    decisions: tuple[TimerDecision, ...] = field(default=(), repr=False)
    flag_ids: tuple[int, ...] = field(default=(), repr=False)


def forecast_cycle(
    snap: CycleSnapshot,
    target_record: TemplateRecord,
    target: TemplateSpec,
    rule: MigrationRule,
    now: datetime,
) -> CycleForecast:
    """The forecast for one cycle; pure, given the snapshot (guards come separately)."""
    cycle = snap.cycle
    assert cycle.id is not None
    head = CycleForecast(
        cycle_id=cycle.id,
        title=cycle.title,
        alliance_id=cycle.alliance_id,
        timezone=snap.timezone,
        cycle_version=cycle.version,
        template_before=snap.record.label,
        template_after=target_record.label,
        outcome="blocked",
        stage_before=cycle.state,
        stage_before_title=_title(snap.spec, cycle.state),
        paused=cycle.resume_state is not None,
    )
    if cycle.template_id == target_record.id:
        return replace(head, outcome="current", reason=f"already on {target_record.label}")
    if cycle.status == FINISHED or snap.visit is None:
        reason = f"it is finished (“{_title(snap.spec, cycle.state)}”); only running cycles move"
        return replace(head, reason=reason)
    state_after = rule.map(cycle.state)
    problem = _stage_problem(snap.spec, target, cycle.state, state_after, target_record.label)
    resume_after = None
    if problem is None and cycle.resume_state is not None:
        resume_after = rule.map(cycle.resume_state)
        problem = _stage_problem(
            snap.spec, target, cycle.resume_state, resume_after, target_record.label
        )
    if problem is not None:
        return replace(head, reason=problem)
    work_after = resume_after or state_after
    due_before = snap.work_visit.due_at if snap.work_visit else None
    due_after = new_deadline(snap, snap.spec.stage(snap.work_stage), target.stage(work_after))
    plan = replan(snap, target, rule, work_after, due_after) if snap.plan else None
    visit = snap.visit
    projected = _projected(visit, state_after, due_after if resume_after is None else visit.due_at)
    stage_after = target.stage(state_after)
    decisions = plan_timers(stage_after, projected, snap.timers, snap.calendar, now)
    cleared = _flags_cleared(snap, stage_after, projected, now)
    return replace(
        head,
        outcome="migrate",
        stage_after=state_after,
        stage_after_title=stage_after.title,
        resume_after=resume_after,
        deadlines=tuple(
            deadline_changes(snap, target, rule, work_after, due_before, due_after, plan)
        ),
        timers=tuple(_timer_changes(decisions, state_after, stage_after.title)),
        flags_cleared=tuple(text for _, text in cleared),
        due_after=due_after,
        plan_after=tuple(plan) if plan is not None else None,
        timers_after=tuple(pending_after(decisions)),
        visits=tuple(_visit_changes(snap, state_after, resume_after, due_after)),
        decisions=tuple(decisions),
        flag_ids=tuple(flag_id for flag_id, _ in cleared),
    )


def _title(spec: TemplateSpec, key: str) -> str:
    return spec.stage(key).title if spec.has_stage(key) else key


def _stage_problem(
    source: TemplateSpec, target: TemplateSpec, old: str, new: str, label: str
) -> str | None:
    """Why a cycle in `old` cannot be in `new` of the target, or None."""
    title = _title(source, old)
    if not target.has_stage(new):
        if new == old:
            return (
                f"its stage “{title}” ({old}) is not in {label} and the plan maps it nowhere: "
                f"map {old} to a stage of {label}"
            )
        return f"the plan maps its stage “{title}” ({old}) to {new!r}, which {label} lacks"
    was = stage_kind(source.stage(old)) if source.has_stage(old) else "work"
    becomes = stage_kind(target.stage(new))
    if was != becomes:
        return (
            f"its stage “{title}” ({old}) would become “{target.stage(new).title}”, a {becomes} "
            f"stage, where a {was} stage is needed"
        )
    return None


def _projected(visit: StageRecord, stage: str, due: datetime | None) -> StageRecord:
    """The open visit as it will be (never added to a session)."""
    return StageRecord(
        id=visit.id,
        cycle_id=visit.cycle_id,
        stage=stage,
        visit=visit.visit,
        entered_at=visit.entered_at,
        due_at=due,
        left_at=None,
        last_activity_at=visit.last_activity_at,
    )


def _visit_changes(
    snap: CycleSnapshot, state_after: str, resume_after: str | None, due_after: datetime | None
) -> list[VisitChange]:
    visit = snap.visit
    assert visit is not None and visit.id is not None
    if resume_after is None:
        return [VisitChange(visit_id=visit.id, stage=state_after, due_at=due_after)]
    changes = [VisitChange(visit_id=visit.id, stage=state_after, due_at=visit.due_at)]
    work = snap.work_visit
    if work is not None and work.id is not None:
        changes.append(VisitChange(visit_id=work.id, stage=resume_after, due_at=due_after))
    return changes


def _timer_changes(decisions: list[TimerDecision], stage: str, title: str) -> list[MomentChange]:
    return [
        MomentChange(
            what=d.kind,
            stage=stage,
            stage_title=title,
            rule=d.rule,
            before=d.before,
            after=d.after,
            note="its moment has passed: fires at once" if _at_once(d) else "",
        )
        for d in decisions
        if d.changed
    ]


def _at_once(decision: TimerDecision) -> bool:
    """A deadline, overdue or stall moment already past (reminders are held to working hours,
    so theirs differ from the nominal moment for another reason)."""
    plan = decision.plan
    return plan is not None and plan.kind != "reminder" and plan.due_at > plan.nominal_at


def _flags_cleared(
    snap: CycleSnapshot, stage: StageSpec, visit: StageRecord, now: datetime
) -> list[tuple[int, str]]:
    """The active stall flags the new rules lift, with why."""
    cleared = []
    for flag in snap.flags:
        assert flag.id is not None
        if flag.reason == NO_ACTIVITY:
            if stage.stall is None:
                cleared.append((flag.id, "no longer stalled: the stage has no stall rule now"))
            elif visit.last_activity_at + stage.stall.after > now:
                allowed = words(stage.stall.after)
                cleared.append((flag.id, f"no longer stalled: it may now go {allowed} idle"))
        elif flag.reason == OVERDUE_ESCALATED and (
            stage.overdue is None or visit.due_at is None or visit.due_at > now
        ):
            cleared.append((flag.id, "no longer escalated as overdue: the deadline moved"))
    return cleared
