"""A partner's "my steps": the stages their organisation leads or takes part in, open first.

    GET /dashboard/my-steps

Open steps are the current stages of active cycles where the organisation is lead or active,
with their deadline and badge; coming steps are later stages of those cycles it will carry. Both
come from the engine (`engine.cycles.organisation_steps`).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter
from starlette.responses import Response

from cycle_engine.api.dashboard.rows import CycleRow
from cycle_engine.api.dashboard.web import VisitDep

LIMIT = 200


@dataclass(frozen=True, kw_only=True)
class MyStep:
    row: CycleRow
    level: str


def register(router: APIRouter) -> None:
    @router.get("/my-steps")
    def my_steps_page(visit: VisitDep) -> Response:
        viewer = visit.require_viewer()
        steps = visit.engine.cycles.organisation_steps(viewer.organisation_id, limit=LIMIT)
        mine = [
            MyStep(row=CycleRow(listed=step.row, now=visit.now), level=step.level)
            for step in steps.open
        ]
        return visit.page("my_steps.html", mine=mine, coming=steps.coming)
