"""Migrating one cycle: carrying out its forecast on the locked cycle, inside its transaction.

The cycle's stage visits take their new stage keys and deadlines, its work plan its new rows, the
organisations' parts in a renamed stage follow the stage, its timers are kept, moved, added or
cancelled exactly as the forecast decided, stall flags the new rules lift are cleared, and one
`template_migrated` event (old and new version, the mapping, the rule, who applied it, what moved)
bumps the cycle's version in the same UPDATE that points it at the new template. Listeners hear of
it like any change; the scheduler does not count it as activity on the stage (a migrated stalled
stage stays stalled unless the new rules say otherwise). Nothing here commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, not_, update
from sqlmodel import Session, select

from cycle_engine.actors import Actor
from cycle_engine.changes import Change, Changes
from cycle_engine.scheduler import store as timer_store
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.store.events import append_event, last_visit_number, save_columns
from cycle_engine.store.tables import EventRecord, StageRecord, TemplateRecord
from cycle_engine.store.tables.alliances import ParticipationRecord, PlanRecord
from cycle_engine.templates.deadlines import MigrationRule, PlannedStage
from cycle_engine.templates.forecast import CycleForecast
from cycle_engine.templates.snapshot import CycleSnapshot

#: The history event a migration appends (not activity on the stage: see scheduler.listener).
MIGRATED = "template_migrated"


def apply_forecast(
    session: Session,
    snap: CycleSnapshot,
    forecast: CycleForecast,
    *,
    target_record: TemplateRecord,
    target: TemplateSpec,
    rule: MigrationRule,
    plan_id: int,
    actor: Actor,
    now: datetime,
    changes: Changes,
) -> EventRecord:
    """Migrate the locked cycle of `snap` as `forecast` (outcome "migrate") says."""
    cycle = snap.cycle
    assert cycle.id is not None and forecast.outcome == "migrate"
    assert forecast.stage_after is not None and target_record.id is not None
    _move_visits(session, snap, forecast)
    if forecast.plan_after is not None:
        _write_plan(session, snap, forecast.plan_after)
    _rename_participation(session, cycle.id, rule, target)
    _carry_out_timers(session, snap, forecast, now)
    _clear_flags(session, snap, forecast, now)
    event = append_event(
        session,
        cycle,
        kind=MIGRATED,
        actor=actor,
        now=now,
        from_state=cycle.state,
        to_state=forecast.stage_after,
        note=f"moved from {snap.record.label} to {target_record.label} (migration plan {plan_id})",
        data=_event_data(snap, forecast, target_record, rule, plan_id),
        cycle_values={
            "template_id": target_record.id,
            "template_key": target_record.key,
            "state": forecast.stage_after,
            "resume_state": forecast.resume_after,
        },
    )
    session.flush()
    changes.record(
        Change(session=session, cycle=cycle, spec=target, event=event, actor=actor, now=now)
    )
    return event


def _move_visits(session: Session, snap: CycleSnapshot, forecast: CycleForecast) -> None:
    cycle_id = snap.cycle.id
    assert cycle_id is not None
    for change in forecast.visits:
        visit = session.get(StageRecord, change.visit_id)
        assert visit is not None
        values: dict[str, Any] = {}
        if change.stage != visit.stage:
            taken = session.exec(
                select(StageRecord.id).where(
                    StageRecord.cycle_id == cycle_id,
                    StageRecord.stage == change.stage,
                    StageRecord.visit == visit.visit,
                )
            ).first()
            number = visit.visit
            if taken is not None:
                number = last_visit_number(session, cycle_id, change.stage) + 1
            values.update(stage=change.stage, visit=number)
        if change.due_at != visit.due_at:
            values["due_at"] = change.due_at
        if values:
            save_columns(session, visit, values)


def _write_plan(session: Session, snap: CycleSnapshot, plan: tuple[PlannedStage, ...]) -> None:
    """Make the cycle's work plan rows `plan`: reused rows updated, others deleted or added."""
    cycle_id = snap.cycle.id
    assert cycle_id is not None
    rows = {row.id: row for row in snap.plan}
    reused = {p.row_id for p in plan if p.row_id is not None}
    for row_id, existing in rows.items():
        if row_id not in reused:
            session.delete(existing)
    renamed = [
        rows[p.row_id] for p in plan if p.row_id is not None and rows[p.row_id].stage != p.stage
    ]
    for moving in renamed:  # out of the way first: two stages may swap keys
        moving.stage = f"~{moving.id}"
        session.add(moving)
    session.flush()
    for planned in plan:
        row = rows.get(planned.row_id) if planned.row_id is not None else None
        if row is None:
            row = PlanRecord(
                cycle_id=cycle_id,
                stage=planned.stage,
                position=planned.position,
                planned_start=planned.start,
                planned_due=planned.due,
                original_due=planned.original_due,
                changes=planned.changes,
            )
        else:
            row.stage = planned.stage
            row.position = planned.position
            row.planned_start = planned.start
            row.planned_due = planned.due
        session.add(row)
    session.flush()


def _rename_participation(
    session: Session, cycle_id: int, rule: MigrationRule, target: TemplateSpec
) -> None:
    """Organisations' parts in a renamed stage follow it (unless they already have one there)."""
    table = ParticipationRecord.__table__  # type: ignore[attr-defined]
    for old, new in rule.stage_map.items():
        if old == new or not target.has_stage(new):
            continue
        already = select(table.c.organisation_id).where(
            table.c.cycle_id == cycle_id, table.c.stage == new
        )
        session.execute(
            update(table)
            .where(
                and_(
                    table.c.cycle_id == cycle_id,
                    table.c.stage == old,
                    not_(table.c.organisation_id.in_(already.scalar_subquery())),
                )
            )
            .values(stage=new)
        )


def _carry_out_timers(
    session: Session, snap: CycleSnapshot, forecast: CycleForecast, now: datetime
) -> None:
    visit = snap.visit
    cycle_id = snap.cycle.id
    assert visit is not None and visit.id is not None and cycle_id is not None
    rows = {row.id: row for row in snap.timers}
    for decision in forecast.decisions:
        row = rows.get(decision.row_id) if decision.row_id is not None else None
        if decision.action == "add":
            assert decision.plan is not None
            session.add(
                timer_store.new_timer(cycle_id, visit, decision.plan, decision.occurrence, now)
            )
        elif decision.action == "move":
            assert row is not None and decision.plan is not None
            timer_store.move_timer(row, decision.plan)
            session.add(row)
        elif decision.action == "cancel":
            assert row is not None
            timer_store.cancel_row(row, "the template changed")
            session.add(row)
    for row in snap.timers:  # open timers follow a renamed stage
        if row.status in timer_store.OPEN_STATUSES and row.stage != visit.stage:
            row.stage = visit.stage
            session.add(row)


def _clear_flags(
    session: Session, snap: CycleSnapshot, forecast: CycleForecast, now: datetime
) -> None:
    cleared = set(forecast.flag_ids)
    visit = snap.visit
    assert visit is not None
    for flag in snap.flags:
        if flag.id in cleared:
            flag.cleared_at = now
        if flag.stage != visit.stage:
            flag.stage = visit.stage
        session.add(flag)
    if cleared:
        session.flush()


def _event_data(
    snap: CycleSnapshot,
    forecast: CycleForecast,
    target_record: TemplateRecord,
    rule: MigrationRule,
    plan_id: int,
) -> dict[str, Any]:
    def moment(value: datetime | None) -> str | None:
        return None if value is None else value.isoformat()

    counts: dict[str, int] = {}
    for decision in forecast.decisions:
        if decision.changed:
            counts[decision.action] = counts.get(decision.action, 0) + 1
    return {
        "plan_id": plan_id,
        "from_template": {
            "id": snap.record.id,
            "key": snap.record.key,
            "version": snap.record.version,
        },
        "to_template": {
            "id": target_record.id,
            "key": target_record.key,
            "version": target_record.version,
        },
        "stage_map": dict(rule.stage_map),
        "unentered": rule.unentered,
        "resume_state": forecast.resume_after,
        "deadlines": [
            {"stage": d.stage, "before": moment(d.before), "after": moment(d.after)}
            for d in forecast.deadlines
        ],
        "timers": counts,
        "flags_cleared": list(forecast.flags_cleared),
    }
