"""The overview of one alliance: active, overdue and stalled cycles, on-time rate, deadlines.

GET /dashboard/alliances/{alliance_id}

Every figure and list is the engine's one list of cycles (counts and short pages of it), within
the viewer's reach.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from cycle_engine.api.dashboard.rows import overview, rows
from cycle_engine.api.dashboard.web import VisitDep
from cycle_engine.api.deps import IdPath
from cycle_engine.cycles.listing import CycleFilter
from cycle_engine.store.tables import ACTIVE

SHOWN = 5


def register(router: APIRouter) -> None:
    @router.get("/alliances/{alliance_id}")
    def alliance_overview(visit: VisitDep, alliance_id: IdPath) -> Response:
        viewer = visit.require_viewer()
        engine = visit.engine
        alliance = engine.alliances.get_alliance(alliance_id, reach=viewer.reach)
        figures = overview(engine, viewer, alliance_id)
        overdue = engine.cycles.list_rows(
            CycleFilter(alliance_id=alliance_id, reach=viewer.reach, overdue=True),
            limit=SHOWN + 1,
            order="due",
        )
        stalled = engine.cycles.list_rows(
            CycleFilter(alliance_id=alliance_id, reach=viewer.reach, status=ACTIVE, stalled=True),
            limit=SHOWN + 1,
            order="stalled_since",
        )
        return visit.page(
            "overview.html",
            alliance=alliance,
            figures=figures,
            overdue=rows(engine, overdue[:SHOWN]),
            more_overdue=len(overdue) > SHOWN,
            stalled=rows(engine, stalled[:SHOWN]),
            more_stalled=len(stalled) > SHOWN,
            role=viewer.role_in(alliance_id),
        )
