"""Testing contexts (countries, communities) of a cycle, their status and the results each
reports per testing round."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from cycle_engine.api.cycle_commands import CycleCommandsDep
from cycle_engine.api.deps import CurrentKey, EngineDep, IdPath, PageDep
from cycle_engine.api.schemas import Page, page_of
from cycle_engine.api.schemas_domain import (
    ContextCreate,
    ContextPublic,
    ContextReport,
    ContextResultPublic,
    ContextStatusSet,
)

router = APIRouter(prefix="/cycles", tags=["contexts"])


@router.get("/{cycle_id}/contexts", summary="The cycle's testing contexts")
def list_contexts(
    cycle_id: IdPath, engine: EngineDep, key: CurrentKey, page: PageDep
) -> Page[ContextPublic]:
    engine.cycles.get_cycle(cycle_id, reach=key.reach)
    rows = engine.work.testing_contexts(cycle_id)[page.offset : page.offset + page.limit + 1]
    return page_of([ContextPublic.model_validate(r) for r in rows], page.limit, page.offset)


@router.post(
    "/{cycle_id}/contexts",
    summary="Add a testing context",
    status_code=201,
    response_model=ContextPublic,
)
def add_context(
    cycle_id: IdPath,
    payload: ContextCreate,
    commands: CycleCommandsDep,
) -> JSONResponse:
    """The organisation running the context must be in the key's reach (else 404)."""
    return commands.run(
        cycle_id,
        payload=payload,
        action="contexts",
        command=lambda: ContextPublic.model_validate(
            commands.engine.work.add_context(
                cycle_id,
                payload.name,
                payload.country,
                payload.community,
                payload.organisation_id,
                actor=commands.actor,
                expected_version=commands.expected_version,
                reach=commands.reach,
            )
        ),
    )


@router.post(
    "/{cycle_id}/contexts/{context_id}/status",
    summary="Set a context's status",
    status_code=200,
    response_model=ContextPublic,
)
def set_status(
    cycle_id: IdPath,
    context_id: IdPath,
    payload: ContextStatusSet,
    commands: CycleCommandsDep,
) -> JSONResponse:
    return commands.run(
        cycle_id,
        payload=payload,
        action=f"contexts/{context_id}/status",
        status=200,
        command=lambda: ContextPublic.model_validate(
            commands.engine.work.set_context_status(
                cycle_id,
                context_id,
                payload.status,
                actor=commands.actor,
                expected_version=commands.expected_version,
                reach=commands.reach,
            )
        ),
    )


@router.post(
    "/{cycle_id}/contexts/{context_id}/results",
    summary="Report a context's results",
    status_code=201,
    response_model=ContextResultPublic,
)
def report_results(
    cycle_id: IdPath,
    context_id: IdPath,
    payload: ContextReport,
    commands: CycleCommandsDep,
) -> JSONResponse:
    """Rating strong, mixed or weak, for the current testing round."""
    return commands.run(
        cycle_id,
        payload=payload,
        action=f"contexts/{context_id}/results",
        command=lambda: ContextResultPublic.model_validate(
            commands.engine.work.report_context(
                cycle_id,
                context_id,
                payload.summary,
                payload.rating,
                actor=commands.actor,
                expected_version=commands.expected_version,
                reach=commands.reach,
            )
        ),
    )


@router.get("/{cycle_id}/context-results", summary="Every result the contexts reported")
def list_results(
    cycle_id: IdPath, engine: EngineDep, key: CurrentKey, page: PageDep
) -> Page[ContextResultPublic]:
    engine.cycles.get_cycle(cycle_id, reach=key.reach)
    rows = engine.work.context_results(cycle_id)[page.offset : page.offset + page.limit + 1]
    return page_of([ContextResultPublic.model_validate(r) for r in rows], page.limit, page.offset)
