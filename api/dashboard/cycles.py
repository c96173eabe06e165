"""The cycle list of an alliance and the page of one cycle.

    GET /dashboard/alliances/{alliance_id}/cycles   filters: status, flag, stage, template, page
    GET /dashboard/cycles/{cycle_id}                timeline, plan vs actual, roles, products...
    GET /dashboard/cycles/{cycle_id}/diagram.svg    the state diagram alone
    GET /dashboard/cycles/{cycle_id}/report         the cycle report (HTML)
    GET /dashboard/products/{product_id}/file       a stored product file (whoever sees its cycle)

An htmx request for the list (a filter change, a page link) gets only the table back. The list
is the engine's one list of cycles (`engine.cycles.list_rows`), within the viewer's reach.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import FileResponse, HTMLResponse, Response

from cycle_engine.api.dashboard.detail import event_summary, load_cycle_page
from cycle_engine.api.dashboard.rows import FLAGS, STATUSES, ListFilters, page_of
from cycle_engine.api.dashboard.svg import state_diagram_svg
from cycle_engine.api.dashboard.web import VisitDep, inline_style_hashes, secure
from cycle_engine.api.deps import IdPath


def register(router: APIRouter) -> None:
    @router.get("/alliances/{alliance_id}/cycles")
    def cycle_list(
        visit: VisitDep,
        alliance_id: IdPath,
        status: Annotated[str, Query(max_length=20)] = "active",
        flag: Annotated[str, Query(max_length=20)] = "",
        stage: Annotated[str, Query(max_length=100)] = "",
        template: Annotated[str, Query(max_length=100)] = "",
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    ) -> Response:
        viewer = visit.require_viewer()
        filters = ListFilters(
            status=status, flag=flag or None, stage=stage or None, template=template or None
        )
        engine = visit.engine
        alliance = engine.alliances.get_alliance(alliance_id, reach=viewer.reach)
        result = page_of(engine, filters.cycle_filter(viewer, alliance_id), page)
        templates = [t for t in engine.templates.list() if t.id is not None]
        stages = sorted(
            {
                (s.key, s.title)
                for t in templates
                if t.id is not None
                for s in engine.templates.spec_of(t.id).stages
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
    def cycle_page(visit: VisitDep, cycle_id: IdPath) -> Response:
        viewer = visit.require_viewer()
        page = load_cycle_page(visit.engine, viewer, cycle_id, visit.words)
        notice = visit.request.query_params.get("done")
        return visit.page(
            "cycle.html",
            p=page,
            event_summary=event_summary,
            notice=notice[:200] if notice else None,
            problem=None,
        )

    @router.get("/cycles/{cycle_id}/diagram.svg")
    def cycle_diagram(visit: VisitDep, cycle_id: IdPath) -> Response:
        viewer = visit.require_viewer()
        engine = visit.engine
        cycle = engine.cycles.get_cycle(cycle_id, reach=viewer.reach)
        spec = engine.templates.spec_of(cycle.template_id)
        visited = frozenset(v.stage for v in engine.cycles.stage_visits(cycle_id))
        svg = state_diagram_svg(spec, current=cycle.state, visited=visited)
        return visit.finish(Response(svg, media_type="image/svg+xml"))

    @router.get("/cycles/{cycle_id}/report")
    def cycle_report(visit: VisitDep, cycle_id: IdPath) -> Response:
        viewer = visit.require_viewer()
        visit.engine.cycles.get_cycle(cycle_id, reach=viewer.reach)
        html = visit.engine.work.render_report(cycle_id, "html")
        return visit.finish(secure(HTMLResponse(html), style_hashes=inline_style_hashes(html)))

    @router.get("/products/{product_id}/file")
    def product_file(visit: VisitDep, product_id: IdPath) -> Response:
        viewer = visit.require_viewer()
        engine = visit.engine
        product = engine.work.product(product_id, reach=viewer.reach)  # 404 outside the reach
        path = engine.work.product_file(product_id)
        return visit.finish(
            FileResponse(
                path,
                media_type=product.content_type or "application/octet-stream",
                filename=product.file_name or path.name,
                content_disposition_type="attachment",
            )
        )
