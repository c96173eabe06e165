"""Starting cycles and moving them between stages: the heart of `CycleEngine.fire`.

Every function here works inside the caller's transaction and never commits ("services commit,
helpers don't"); the rows themselves are written by the store's fast path (`store.events`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from cycle_engine.actors import Actor
from cycle_engine.alliances.roster import expect_stages
from cycle_engine.changes import Change, Changes
from cycle_engine.errors import (
    ConflictError,
    InvalidInput,
    TransitionNotAllowed,
    UnknownTrigger,
)
from cycle_engine.spec.guards import GuardContext
from cycle_engine.spec.machine import Candidate, CycleMachine, TriggerOption, role_allows
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.store.events import append_event, insert_visit, leave_visit
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
    planned = due_at is None and cycle.alliance_id is not None  # the plan dates first visits
    duration = spec.stage(stage).duration
    if due_at is None and duration is not None:
        due_at = now + duration
    return insert_visit(session, cycle, stage, now, due_at, planned=planned)


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
    changes: Changes,
    participation: ParticipationRoles = no_participation,
) -> FireResult:
    """Move `cycle` by `trigger`; raises ConflictError, UnknownTrigger or TransitionNotAllowed.

    transitions decides once: the trigger's own guards run in its conditions, and only a
    refusal pays for explaining every trigger of the stage (the reasons and what is allowed).
    """
    if expected_version is not None and expected_version != cycle.version:
        assert cycle.id is not None
        raise ConflictError(cycle.id, expected_version, cycle.version)
    if not isinstance(trigger, str) or not trigger:
        raise InvalidInput("trigger", "must be a non-empty trigger name")
    source = cycle.state
    candidates = machine.candidates(source, trigger)
    if not candidates:
        raise _refusal(session, cycle, machine, trigger, actor, now, participation, note)
    if not _role_allows(session, cycle, actor, candidates, participation):
        raise _refusal(session, cycle, machine, trigger, actor, now, participation, note, "role")
    ctx = GuardContext(session=session, cycle=cycle, spec=machine.spec, now=now, note=note)
    dest = machine.fire(source, trigger, ctx)
    if dest is None:
        raise _refusal(session, cycle, machine, trigger, actor, now, participation, note)
    return _apply(session, cycle, machine.spec, trigger, source, dest, actor, now, note, changes)


def _role_allows(
    session: Session,
    cycle: CycleRecord,
    actor: Actor,
    candidates: Sequence[Candidate],
    participation: ParticipationRoles,
) -> bool:
    """Whether the actor may fire; participation is looked up only when the role alone is not
    enough (a partner acting as the stage's lead or active organisation)."""
    roles = candidates[0].spec.roles
    if role_allows(actor.role, roles, frozenset()):
        return True
    return role_allows(actor.role, roles, participation(session, cycle, actor))


def _refusal(
    session: Session,
    cycle: CycleRecord,
    machine: CycleMachine,
    trigger: str,
    actor: Actor,
    now: datetime,
    participation: ParticipationRoles,
    note: str | None,
    kind: str = "guard",
) -> TransitionNotAllowed:
    """The error that says why `trigger` cannot fire, with the triggers that can; `kind` is
    what refused it ("role" or "guard")."""
    options = {
        o.trigger: o for o in explain(session, cycle, machine, actor, now, participation, note)
    }
    allowed = [name for name, option in options.items() if option.allowed]
    option = options.get(trigger)
    if option is None:
        declared = trigger in machine.spec.triggers()
        reason = (
            f"{trigger!r} does not apply in stage {cycle.state!r}"
            if declared
            else f"the template has no trigger {trigger!r}"
        )
        return UnknownTrigger(trigger, cycle.state, [reason], allowed)
    reasons = option.reasons or ("a guard blocked the transition",)
    return TransitionNotAllowed(trigger, cycle.state, reasons, allowed, kind=kind)


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
    changes: Changes,
) -> FireResult:
    if cycle.id is not None:  # the listeners ask about the stage left and the stage entered
        expect_stages(session, cycle.id, (source, dest))
    left = leave_visit(session, cycle, now)
    paused_for = None
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
    changes.record(change)
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
