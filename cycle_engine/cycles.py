"""Starting cycles and moving them between stages: the heart of `CycleEngine.fire`.

Every function here works inside the caller's transaction and never commits ("services commit,
helpers don't"). The cycle row is locked (`FOR UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE`
already serialises writers), so a version check against it cannot race.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import LABEL_STYLE_TABLENAME_PLUS_COL, Table, bindparam, func, insert
from sqlmodel import Session, select

from cycle_engine.actors import Actor
from cycle_engine.alliances.workplan import planned_due
from cycle_engine.changes import (
    Change,
    ChangeListener,
    adopt,
    append_event,
    core_connection,
    loaded,
    save_columns,
)
from cycle_engine.errors import (
    ConflictError,
    CycleNotFound,
    InvalidInput,
    TransitionNotAllowed,
    UnknownTrigger,
)
from cycle_engine.spec.guards import GuardContext
from cycle_engine.spec.machine import CycleMachine, TriggerOption, role_allows
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.store.tables import ACTIVE, FINISHED, CycleRecord, StageRecord

#: Roles an actor holds on a cycle's current stage through participation (e.g. {"lead"}).
ParticipationRoles = Callable[[Session, CycleRecord, Actor], frozenset[str]]


def no_participation(_session: Session, _cycle: CycleRecord, _actor: Actor) -> frozenset[str]:
    return frozenset()


@dataclass(frozen=True, kw_only=True)
class FireResult:
    """What a successful fire did."""

    cycle_id: int
    trigger: str
    from_state: str
    to_state: str
    version: int
    event_id: int


_VISITS: Table = StageRecord.__table__  # type: ignore[attr-defined]
_PREVIOUS = _VISITS.alias("previous")
_CYCLES: Table = CycleRecord.__table__  # type: ignore[attr-defined]
_CYCLE_COLUMNS = [column.name for column in _CYCLES.columns]
_VISIT_COLUMNS = [column.name for column in _VISITS.columns]
#: The cycle row, locked (PostgreSQL: `FOR UPDATE`; SQLite: `BEGIN IMMEDIATE` already holds the
#: write lock). On SQLite its current stage visit comes in the same round trip; PostgreSQL
#: re-reads only the locked row after waiting for a lock, so there the visit is read after.
_LOCK = select(*_CYCLES.columns).where(_CYCLES.c.id == bindparam("cycle_id")).with_for_update()
_LOCK_WITH_VISIT = (
    select(*_CYCLES.columns, *_VISITS.columns)
    .select_from(_CYCLES.outerjoin(_VISITS, _VISITS.c.id == _CYCLES.c.current_stage_id))
    .where(_CYCLES.c.id == bindparam("cycle_id"))
    .set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL)
)
_VISIT = select(*_VISITS.columns).where(_VISITS.c.id == bindparam("visit_id"))
_LAST_VISIT = select(func.max(StageRecord.visit)).where(
    StageRecord.cycle_id == bindparam("cycle_id"), StageRecord.stage == bindparam("stage")
)
#: A new visit numbered after the stage's earlier visits, in the INSERT itself.
_INSERT_VISIT = (
    insert(_VISITS)
    .values(
        visit=select(func.coalesce(func.max(_PREVIOUS.c.visit), 0) + 1)
        .where(
            _PREVIOUS.c.cycle_id == bindparam("visit_cycle_id"),
            _PREVIOUS.c.stage == bindparam("visit_stage"),
        )
        .scalar_subquery()
    )
    .returning(_VISITS.c.id, _VISITS.c.visit)
)
_NEW_VISITS = "cycle_engine.new_visits"
_LOADED = "cycle_engine.loaded_visits"


def lock_cycle(session: Session, cycle_id: int) -> CycleRecord:
    """The cycle row, locked for this transaction; raises CycleNotFound."""
    connection = core_connection(session)
    joined = connection.dialect.name == "sqlite"
    row = connection.execute(_LOCK_WITH_VISIT if joined else _LOCK, {"cycle_id": cycle_id}).first()
    if row is None:
        raise CycleNotFound(cycle_id)
    width = len(_CYCLE_COLUMNS)
    cycle = adopt(session, CycleRecord, dict(zip(_CYCLE_COLUMNS, row[:width], strict=True)))
    if joined and row[width] is not None:
        keep_loaded(
            session,
            adopt(session, StageRecord, dict(zip(_VISIT_COLUMNS, row[width:], strict=True))),
        )
    return cycle


def current_visit(session: Session, cycle: CycleRecord) -> StageRecord | None:
    """The cycle's current stage visit (None when finished); no query when already loaded."""
    visit_id = cycle.current_stage_id
    if visit_id is None:
        return None
    visit = loaded(session, StageRecord, visit_id)
    if visit is not None:
        return visit
    row = core_connection(session).execute(_VISIT, {"visit_id": visit_id}).first()
    if row is None:
        return None
    return keep_loaded(session, adopt(session, StageRecord, row._asdict()))


def keep_loaded(session: Session, visit: StageRecord) -> StageRecord:
    """Hold `visit` for the session's life (its identity map holds objects only weakly), so
    later look-ups (`current_visit`, `session.get`) find it without a query."""
    session.info.setdefault(_LOADED, []).append(visit)
    return visit


def new_visit_ids(session: Session) -> set[int]:
    """Ids of the stage visits opened in the session's current transaction.

    Such a visit has no timers and no stall flags yet but those this transaction adds, which
    lets the scheduler's listener skip looking for them.
    """
    transaction = session.get_transaction()
    mark = session.info.get(_NEW_VISITS)
    if mark is None or mark[0] is not transaction:
        mark = (transaction, set())
        session.info[_NEW_VISITS] = mark
    ids: set[int] = mark[1]
    return ids


def open_visit(
    session: Session,
    cycle: CycleRecord,
    spec: TemplateSpec,
    stage: str,
    now: datetime,
    *,
    due_at: datetime | None = None,
) -> StageRecord:
    """Record entry into `stage` (a new visit); the caller points the cycle at it.

    The work plan's date wins over the template's duration (only a cycle of an alliance has a
    work plan). The caller saves `current_stage_id` with the cycle's version, in the UPDATE
    `append_event(..., cycle_values=...)` makes.
    """
    assert cycle.id is not None
    connection = core_connection(session)
    if due_at is None and cycle.alliance_id is not None:
        previous = connection.execute(_LAST_VISIT, {"cycle_id": cycle.id, "stage": stage}).scalar()
        due_at = planned_due(session, cycle.id, stage, (previous or 0) + 1)
    duration = spec.stage(stage).duration
    if due_at is None and duration is not None:
        due_at = now + duration
    row = {
        "cycle_id": cycle.id,
        "stage": stage,
        "entered_at": now,
        "due_at": due_at,
        "left_at": None,
        "last_activity_at": now,
    }
    visit_id, number = connection.execute(
        _INSERT_VISIT, {**row, "visit_cycle_id": cycle.id, "visit_stage": stage}
    ).one()
    visit = adopt(session, StageRecord, {"id": visit_id, "visit": number, **row})
    new_visit_ids(session).add(visit_id)
    return visit


def explain(
    session: Session,
    cycle: CycleRecord,
    machine: CycleMachine,
    actor: Actor,
    now: datetime,
    participation: ParticipationRoles,
    note: str | None = None,
) -> list[TriggerOption]:
    """Every trigger from the cycle's stage, allowed or blocked with reasons."""
    ctx = GuardContext(session=session, cycle=cycle, spec=machine.spec, now=now, note=note)
    extra = participation(session, cycle, actor)
    role_reasons: dict[str, list[str]] = {}
    for trigger in machine.triggers_from(cycle.state):
        roles = machine.candidates(cycle.state, trigger)[0].spec.roles
        if not role_allows(actor.role, roles, extra):
            held = ", ".join(sorted({actor.role, *extra}))
            role_reasons[trigger] = [f"only {', '.join(roles)} may fire {trigger!r} (you: {held})"]
    return machine.options(ctx, role_reasons)


def fire(
    session: Session,
    cycle: CycleRecord,
    machine: CycleMachine,
    trigger: str,
    *,
    actor: Actor,
    now: datetime,
    note: str | None,
    expected_version: int | None,
    listeners: Sequence[ChangeListener],
    participation: ParticipationRoles = no_participation,
) -> FireResult:
    """Move `cycle` by `trigger`; raises ConflictError, UnknownTrigger or TransitionNotAllowed."""
    if expected_version is not None and expected_version != cycle.version:
        assert cycle.id is not None
        raise ConflictError(cycle.id, expected_version, cycle.version)
    if not isinstance(trigger, str) or not trigger:
        raise InvalidInput("trigger", "must be a non-empty trigger name")
    options = {
        o.trigger: o for o in explain(session, cycle, machine, actor, now, participation, note)
    }
    allowed = [name for name, option in options.items() if option.allowed]
    if trigger not in options:
        declared = trigger in machine.spec.triggers()
        reason = (
            f"{trigger!r} does not apply in stage {cycle.state!r}"
            if declared
            else f"the template has no trigger {trigger!r}"
        )
        raise UnknownTrigger(trigger, cycle.state, [reason], allowed)
    option = options[trigger]
    if not option.allowed:
        raise TransitionNotAllowed(trigger, cycle.state, option.reasons, allowed)

    ctx = GuardContext(session=session, cycle=cycle, spec=machine.spec, now=now, note=note)
    source = cycle.state
    dest = machine.fire(source, trigger, ctx)
    if dest == source and option.dest != source:  # guards changed under us: nothing happened
        raise TransitionNotAllowed(trigger, source, ["a guard blocked the transition"], allowed)
    return _apply(session, cycle, machine.spec, trigger, source, dest, actor, now, note, listeners)


def _apply(
    session: Session,
    cycle: CycleRecord,
    spec: TemplateSpec,
    trigger: str,
    source: str,
    dest: str,
    actor: Actor,
    now: datetime,
    note: str | None,
    listeners: Sequence[ChangeListener],
) -> FireResult:
    left = current_visit(session, cycle)
    paused_for = None
    if left is not None:
        save_columns(session, left, {"left_at": now})
    dest_spec = spec.stage(dest)
    due_at = None
    values: dict[str, object] = {"state": dest}
    if dest_spec.hold:
        values["resume_state"] = source
    elif spec.stage(source).hold and left is not None:
        due_at, paused_for = _resumed_due(session, cycle, dest, left, now)
        values["resume_state"] = None
    if dest_spec.final:
        values.update(status=FINISHED, finished_at=now, current_stage_id=None)
        entered = None
    else:
        entered = open_visit(session, cycle, spec, dest, now, due_at=due_at)
        values.update(status=ACTIVE, current_stage_id=entered.id)
    data = {"paused_seconds": int(paused_for.total_seconds())} if paused_for else {}
    event = append_event(
        session,
        cycle,
        kind="transition",
        actor=actor,
        now=now,
        trigger=trigger,
        from_state=source,
        to_state=dest,
        note=note,
        data=data,
        cycle_values=values,
    )
    change = Change(
        session=session,
        cycle=cycle,
        spec=spec,
        event=event,
        actor=actor,
        now=now,
        left=left,
        entered=entered,
    )
    for listener in listeners:
        listener.on_change(change)
    assert cycle.id is not None and event.id is not None
    return FireResult(
        cycle_id=cycle.id,
        trigger=trigger,
        from_state=source,
        to_state=dest,
        version=cycle.version,
        event_id=event.id,
    )


def _resumed_due(
    session: Session, cycle: CycleRecord, stage: str, hold_visit: StageRecord, now: datetime
) -> tuple[datetime | None, timedelta]:
    """On resume, the stage's deadline moves by as long as the cycle was paused."""
    paused_visit = session.exec(
        select(StageRecord)
        .where(StageRecord.cycle_id == cycle.id, StageRecord.stage == stage)
        .order_by(StageRecord.visit.desc())  # type: ignore[attr-defined]
    ).first()
    paused_for = now - hold_visit.entered_at
    if paused_visit is None or paused_visit.due_at is None:
        return None, paused_for
    return paused_visit.due_at + paused_for, paused_for
