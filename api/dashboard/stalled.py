"""Stalled steps of an alliance, and the "nudge" that emails the people concerned.

    GET  /dashboard/alliances/{alliance_id}/stalled
    POST /dashboard/alliances/{alliance_id}/stalled/{cycle_id}/nudge   (coordinator, manager)

The nudge itself is the engine's `CycleEngine.nudge` command (cycle_engine/nudges.py).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query
from starlette.responses import Response

from cycle_engine.api.dashboard.access import managed_alliance, visible_alliance, visible_cycle
from cycle_engine.api.dashboard.queries import stalled_rows
from cycle_engine.api.dashboard.web import PREFIX, VisitDep
from cycle_engine.api.deps import IdPath
from cycle_engine.errors import ActionNotAllowed


def register(router: APIRouter) -> None:
    @router.get("/alliances/{alliance_id}/stalled")
    async def stalled_page(
        visit: VisitDep,
        alliance_id: IdPath,
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    ) -> Response:
        viewer = visit.require_viewer()
        with visit.engine.db.read_session() as session:
            alliance = visible_alliance(session, viewer, alliance_id)
            result = stalled_rows(
                session, visit.engine.templates.store, viewer, alliance_id, visit.now, page
            )
        notice = visit.request.query_params.get("done")
        return visit.page(
            "stalled.html",
            alliance=alliance,
            result=result,
            can_nudge=viewer.manages(alliance_id),
            notice=notice[:200] if notice else None,
        )

    @router.post("/alliances/{alliance_id}/stalled/{cycle_id}/nudge")
    async def nudge_step(visit: VisitDep, alliance_id: IdPath, cycle_id: IdPath) -> Response:
        viewer = visit.require_viewer()
        await visit.check_csrf()
        with visit.engine.db.read_session() as session:
            managed_alliance(session, viewer, alliance_id)
            cycle = visible_cycle(session, viewer, cycle_id)
        if cycle.alliance_id != alliance_id:
            raise ActionNotAllowed("nudge", f"cycle {cycle_id} is not in this alliance")
        try:
            sent = visit.engine.outbox.nudge(
                cycle_id,
                actor=viewer.actor(alliance_id),
                note=f"nudged from the dashboard by {viewer.name}",
            )
            message = f"Nudged: {sent} email(s) queued for “{cycle.title}”."
        except ActionNotAllowed as refused:
            message = f"Not nudged: {refused.reason}."
        if visit.request.headers.get("hx-request"):
            return visit.page("partials/nudged.html", message=message)
        return visit.redirect(f"{PREFIX}/alliances/{alliance_id}/stalled?done={quote(message)}")
