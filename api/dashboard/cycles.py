"""The cycle list of an alliance and the page of one cycle.

    GET /dashboard/alliances/{alliance_id}/cycles   filters: status, flag, stage, template, page
    GET /dashboard/cycles/{cycle_id}                timeline, plan vs actual, roles, products...
    GET /dashboard/cycles/{cycle_id}/diagram.svg    the state diagram alone
    GET /dashboard/cycles/{cycle_id}/report         the cycle report (HTML)

An htmx request for the list (a filter change, a page link) gets only the table back.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import select
from starlette.responses import HTMLResponse, Response

from cycle_engine.api.dashboard.access import visible_alliance, visible_cycle
from cycle_engine.api.dashboard.detail import event_summary, load_cycle_page
from cycle_engine.api.dashboard.queries import FLAGS, STATUSES, ListFilters, list_cycles
from cycle_engine.api.dashboard.svg import state_diagram_svg
from cycle_engine.api.dashboard.web import VisitDep
from cycle_engine.api.deps import IdPath
from cycle_engine.errors import InvalidInput
from cycle_engine.store.tables import StageRecord


def register(router: APIRouter) -> None:
    @router.get("/alliances/{alliance_id}/cycles")
    async def cycle_list(
        visit: VisitDep,
        alliance_id: IdPath,
        status: Annotated[str, Query(max_length=20)] = "active",
        flag: Annotated[str, Query(max_length=20)] = "",
        stage: Annotated[str, Query(max_length=100)] = "",
        template: Annotated[str, Query(max_length=100)] = "",
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    ) -> Response:
        viewer = visit.require_viewer()
        if status not in STATUSES:
            raise InvalidInput("status", f"must be one of {', '.join(STATUSES)}, got {status!r}")
        if flag and flag not in FLAGS:
            raise InvalidInput("flag", f"must be one of {', '.join(FLAGS)}, got {flag!r}")
        filters = ListFilters(
            status=status, flag=flag or None, stage=stage or None, template=template or None
        )
        engine = visit.engine
        with engine.db.read_session() as session:
            alliance = visible_alliance(session, viewer, alliance_id)
            result = list_cycles(
                session, engine.templates.store, viewer, alliance_id, filters, visit.now, page
            )
            templates = engine.templates.store.list(session)
            stages = sorted(
                {
                    (s.key, s.title)
                    for t in templates
                    if t.id is not None
                    for s in engine.templates.store.spec(session, t.id).stages
                }
            )
        template_name = (
            "partials/cycle_table.html"
            if visit.request.headers.get("hx-request")
            and visit.request.headers.get("hx-target") == "cycle-table"
            else "cycles.html"
        )
        return visit.page(
            template_name,
            alliance=alliance,
            result=result,
            filters=filters,
            stages=stages,
            template_keys=sorted({t.key for t in templates}),
            flags=FLAGS,
            statuses=STATUSES,
        )

    @router.get("/cycles/{cycle_id}")
    async def cycle_page(visit: VisitDep, cycle_id: IdPath) -> Response:
        viewer = visit.require_viewer()
        page = load_cycle_page(visit.engine, viewer, cycle_id)
        notice = visit.request.query_params.get("done")
        return visit.page(
            "cycle.html",
            p=page,
            event_summary=event_summary,
            notice=notice[:200] if notice else None,
            problem=None,
        )

    @router.get("/cycles/{cycle_id}/diagram.svg")
    async def cycle_diagram(visit: VisitDep, cycle_id: IdPath) -> Response:
        viewer = visit.require_viewer()
        with visit.engine.db.read_session() as session:
            cycle = visible_cycle(session, viewer, cycle_id)
            spec = visit.engine.templates.store.spec(session, cycle.template_id)
            visited = frozenset(
                session.exec(select(StageRecord.stage).where(StageRecord.cycle_id == cycle_id))
            )
        svg = state_diagram_svg(spec, current=cycle.state, visited=visited)
        return visit.finish(Response(svg, media_type="image/svg+xml"))

    @router.get("/cycles/{cycle_id}/report")
    async def cycle_report(visit: VisitDep, cycle_id: IdPath) -> Response:
        viewer = visit.require_viewer()
        with visit.engine.db.read_session() as session:
            visible_cycle(session, viewer, cycle_id)
        return visit.finish(HTMLResponse(visit.engine.work.render_report(cycle_id, "html")))
