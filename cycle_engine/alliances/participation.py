"""Who takes part in each stage of a cycle: lead, active or informed, with focal points.

Also the queries other parts rely on: which stages lack an active focal point (the
`roles_assigned` guard and the scheduler's stall reasons), which template roles an actor holds
through participation, and who should hear about a stage (the notifications).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlmodel import Session, col, select

from cycle_engine.actors import Actor
from cycle_engine.alliances.common import (
    CycleOp,
    active_stage,
    get_person,
    member_organisation,
    require_choice,
    require_organiser,
    require_work_stage,
    work_stage_keys,
)
from cycle_engine.alliances.roster import Recipient, roster
from cycle_engine.errors import ActionNotAllowed, InputConflict, InvalidInput
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.store.tables import FINISHED, CycleRecord
from cycle_engine.store.tables.alliances import (
    LEVELS,
    OrganisationRecord,
    ParticipationRecord,
    PersonRecord,
)


def finished_stages(spec: TemplateSpec, cycle: CycleRecord) -> set[str]:
    """Work stages the cycle has passed for good (all of them once it is finished)."""
    keys = work_stage_keys(spec)
    current = active_stage(cycle)
    if cycle.status == FINISHED or current is None:
        return set(keys)
    if current not in keys:
        return set()
    return set(keys[: keys.index(current)])


def _check_person(
    op: CycleOp, person_id: int, organisation: OrganisationRecord, field_name: str
) -> PersonRecord:
    person = get_person(op.session, person_id)
    alliance = op.alliance()
    if person.organisation_id != organisation.id:
        other = op.session.get(OrganisationRecord, person.organisation_id)
        other_name = other.name if other else person.organisation_id
        try:
            member_organisation(op.session, alliance, person.organisation_id, field_name)
        except InvalidInput:
            raise InputConflict(
                field_name,
                f"{person.name} (id {person_id}) works for {other_name!r}, which is not in "
                f"alliance {alliance.name!r}",
            ) from None
        raise InputConflict(
            field_name,
            f"{person.name} (id {person_id}) works for {other_name!r}, not for "
            f"{organisation.name!r}",
        )
    if person.left_on is not None:
        raise InputConflict(
            field_name,
            f"{person.name} (id {person_id}) left {organisation.name!r} on "
            f"{person.left_on.isoformat()}",
        )
    return person


def assign(
    op: CycleOp,
    *,
    stage: str,
    organisation_id: int,
    level: str,
    focal_point_id: int | None = None,
    deputy_id: int | None = None,
) -> ParticipationRecord:
    """Record how an organisation takes part in a stage (replacing its earlier choice)."""
    require_organiser(op.actor, "assign roles")
    op.require_active("assign roles")
    require_work_stage(op.spec, stage)
    require_choice("level", level, LEVELS)
    alliance = op.alliance()
    organisation = member_organisation(op.session, alliance, organisation_id, "organisation")
    if stage in finished_stages(op.spec, op.cycle):
        raise ActionNotAllowed(
            f"assign {organisation.name!r} to {stage!r}",
            f"stage {stage!r} is already finished (cycle {op.cycle_id} is in {op.cycle.state!r})",
        )
    if deputy_id is not None and focal_point_id is None:
        raise InvalidInput("deputy", "name a focal point before a deputy")
    if deputy_id is not None and deputy_id == focal_point_id:
        raise InvalidInput("deputy", "the deputy must be someone other than the focal point")
    for person_id, field_name in ((focal_point_id, "focal_point"), (deputy_id, "deputy")):
        if person_id is not None:
            _check_person(op, person_id, organisation, field_name)
    row = op.session.exec(
        select(ParticipationRecord).where(
            ParticipationRecord.cycle_id == op.cycle_id,
            ParticipationRecord.stage == stage,
            ParticipationRecord.organisation_id == organisation_id,
        )
    ).first()
    previous = None if row is None else {"level": row.level, "focal_point_id": row.focal_point_id}
    if row is None:
        row = ParticipationRecord(
            cycle_id=op.cycle_id,
            stage=stage,
            organisation_id=organisation_id,
            level=level,
            updated_at=op.now,
        )
    row.level = level
    row.focal_point_id = focal_point_id
    row.deputy_id = deputy_id
    row.needs_focal_point = False
    row.updated_at = op.now
    op.session.add(row)
    op.session.flush()
    op.emit(
        "participation_changed",
        {
            "stage": stage,
            "organisation_id": organisation_id,
            "organisation": organisation.name,
            "level": level,
            "focal_point_id": focal_point_id,
            "deputy_id": deputy_id,
            "previous": previous,
        },
    )
    return row


def participation_rows(session: Session, cycle_id: int) -> list[ParticipationRecord]:
    return list(
        session.exec(
            select(ParticipationRecord)
            .where(ParticipationRecord.cycle_id == cycle_id)
            .order_by(col(ParticipationRecord.stage), col(ParticipationRecord.organisation_id))
        )
    )


def participation_rows_of(
    session: Session, cycle_ids: Sequence[int], stage_of: Mapping[int, str] | None = None
) -> dict[int, list[ParticipationRecord]]:
    """`participation_rows` of several cycles in one query, by cycle id (with `stage_of`, only
    each cycle's rows of that stage)."""
    found: dict[int, list[ParticipationRecord]] = {cycle_id: [] for cycle_id in cycle_ids}
    if not found:
        return found
    query = select(ParticipationRecord).where(col(ParticipationRecord.cycle_id).in_(list(found)))
    if stage_of is not None:
        query = query.where(col(ParticipationRecord.stage).in_(set(stage_of.values())))
    ordered = query.order_by(
        col(ParticipationRecord.stage), col(ParticipationRecord.organisation_id)
    )
    for row in session.exec(ordered):
        if stage_of is None or stage_of.get(row.cycle_id) == row.stage:
            found[row.cycle_id].append(row)
    return found


def lacking_focal_point(session: Session, cycle_id: int, stages: list[str]) -> dict[str, str]:
    """For each of `stages` without a lead organisation with an active focal point: why.

    Answered from the cycle's roster (one query per transaction, shared with the outbox).
    """
    if not stages:
        return {}
    return roster(session, cycle_id, stages).lacking(stages)


def stages_lacking_focal_point(
    session: Session, cycle: CycleRecord, spec: TemplateSpec
) -> dict[str, str]:
    """Current and later work stages of a cycle that lack a lead with an active focal point.

    Returns {stage: reason}; empty for a finished cycle. Used for stall reasons.
    """
    if cycle.id is None or cycle.status == FINISHED:
        return {}
    done = finished_stages(spec, cycle)
    return lacking_focal_point(
        session, cycle.id, [s for s in work_stage_keys(spec) if s not in done]
    )


def participation_roles(session: Session, cycle: CycleRecord, actor: Actor) -> frozenset[str]:
    """Template roles the actor holds on the cycle's current stage: {"lead"} or {"active"}."""
    organisation_id = actor.organisation_id
    if organisation_id is None and actor.person_id is not None:
        person = session.get(PersonRecord, actor.person_id)
        organisation_id = person.organisation_id if person else None
    stage = active_stage(cycle)
    if organisation_id is None or stage is None or cycle.id is None:
        return frozenset()
    row = session.exec(
        select(ParticipationRecord).where(
            ParticipationRecord.cycle_id == cycle.id,
            ParticipationRecord.stage == stage,
            ParticipationRecord.organisation_id == organisation_id,
        )
    ).first()
    if row is None or row.level == "informed":
        return frozenset()
    return frozenset({row.level})


def recipients_for_stage(session: Session, cycle_id: int, stage: str) -> list[Recipient]:
    """Everyone who should hear about `stage` of a cycle, with why (`roles`), by person id.

    Roles: `focal_point` and `deputy` (named on any participation row of the stage), `lead`,
    `active`, `informed` (the organisation's level: its focal point and deputy, or all its
    current people when it named none), `coordinator` and `manager` (of the cycle's alliance).
    People who have left are never recipients. Answered from the cycle's roster: one statement
    per transaction whatever the number of organisations or stages asked about.
    """
    return roster(session, cycle_id, (stage,)).recipients(stage)
