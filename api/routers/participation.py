"""Participation: for each stage of a cycle, which organisations lead, take an active part or
are only informed, with their focal points. Coordinators assign; every key in reach reads."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from cycle_engine.api.cycle_commands import CycleCommandsDep
from cycle_engine.api.deps import CurrentKey, EngineDep, IdPath, PageDep
from cycle_engine.api.schemas import Page, page_of
from cycle_engine.api.schemas_domain import ParticipationPublic, ParticipationSet

router = APIRouter(prefix="/cycles", tags=["participation"])


@router.get("/{cycle_id}/participation", summary="Who takes part in which stage")
def list_participation(
    cycle_id: IdPath, engine: EngineDep, key: CurrentKey, page: PageDep
) -> Page[ParticipationPublic]:
    engine.cycles.get_cycle(cycle_id, reach=key.reach)
    rows = engine.work.participants(cycle_id)[page.offset : page.offset + page.limit + 1]
    return page_of([ParticipationPublic.model_validate(r) for r in rows], page.limit, page.offset)


@router.post(
    "/{cycle_id}/participation",
    summary="Assign an organisation's role in a stage",
    status_code=201,
    response_model=ParticipationPublic,
)
def assign(
    cycle_id: IdPath,
    payload: ParticipationSet,
    commands: CycleCommandsDep,
) -> JSONResponse:
    """lead, active or informed; the engine refuses anyone but a coordinator (403), and an
    organisation out of the key's reach is not found (404)."""
    return commands.run(
        cycle_id,
        payload=payload,
        action="participation",
        command=lambda: ParticipationPublic.model_validate(
            commands.engine.work.assign(
                cycle_id,
                payload.stage,
                payload.organisation_id,
                payload.level,
                focal_point_id=payload.focal_point_id,
                deputy_id=payload.deputy_id,
                actor=commands.actor,
                expected_version=commands.expected_version,
                reach=commands.reach,
            )
        ),
    )
