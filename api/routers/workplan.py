"""The work plan of a cycle (planned start and due date per stage) and due-date changes, which
re-plan the later stages and re-time the reminders."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import RootModel

from cycle_engine.api.cycle_commands import CycleCommandsDep
from cycle_engine.api.deps import CurrentKey, EngineDep, IdPath
from cycle_engine.api.schemas_domain import DueDateMove, PlanPublic

router = APIRouter(prefix="/cycles", tags=["work plan"])


class Plan(RootModel[list[PlanPublic]]):
    """Every planned stage, in order."""


@router.get("/{cycle_id}/plan", summary="The cycle's work plan")
def work_plan(cycle_id: IdPath, engine: EngineDep, key: CurrentKey) -> list[PlanPublic]:
    engine.cycles.get_cycle(cycle_id, reach=key.reach)
    return [PlanPublic.model_validate(r) for r in engine.work.work_plan(cycle_id)]


@router.post(
    "/{cycle_id}/due-dates",
    summary="Move a stage's due date",
    status_code=200,
    response_model=list[PlanPublic],
)
def move_due_date(
    cycle_id: IdPath,
    payload: DueDateMove,
    commands: CycleCommandsDep,
) -> JSONResponse:
    """With a reason; answers the re-planned work plan."""
    return commands.run(
        cycle_id,
        payload=payload,
        action="due-dates",
        status=200,
        command=lambda: Plan(
            [
                PlanPublic.model_validate(r)
                for r in commands.engine.work.move_due_date(
                    cycle_id,
                    payload.stage,
                    payload.due,
                    reason=payload.reason,
                    actor=commands.actor,
                    expected_version=commands.expected_version,
                    reach=commands.reach,
                )
            ]
        ),
    )
