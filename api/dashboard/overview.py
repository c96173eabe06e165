"""The overview of one alliance: active, overdue and stalled cycles, on-time rate, deadlines.

GET /dashboard/alliances/{alliance_id}
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from cycle_engine.api.dashboard.access import visible_alliance
from cycle_engine.api.dashboard.queries import overdue_rows, overview, stalled_rows
from cycle_engine.api.dashboard.web import VisitDep
from cycle_engine.api.deps import IdPath


def register(router: APIRouter) -> None:
    @router.get("/alliances/{alliance_id}")
    async def alliance_overview(visit: VisitDep, alliance_id: IdPath) -> Response:
        viewer = visit.require_viewer()
        engine, now = visit.engine, visit.now
        with engine.db.read_session() as session:
            alliance = visible_alliance(session, viewer, alliance_id)
            figures = overview(session, engine.templates.store, viewer, alliance_id, now)
            overdue = overdue_rows(session, engine.templates.store, viewer, alliance_id, now)
            stalled = stalled_rows(session, engine.templates.store, viewer, alliance_id, now)
        return visit.page(
            "overview.html",
            alliance=alliance,
            figures=figures,
            overdue=overdue[:5],
            more_overdue=len(overdue) > 5,
            stalled=stalled.rows[:5],
            more_stalled=len(stalled.rows) > 5,
            role=viewer.role_in(alliance_id),
        )
