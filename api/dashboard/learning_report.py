"""The alliance learning report as a dashboard page, and its Markdown and HTML downloads.

    GET /dashboard/alliances/{alliance_id}/learning            (every member of the alliance)
    GET /dashboard/alliances/{alliance_id}/learning.md | .html  (the same report, to share)

The report is the engine's (`engine.learning.alliance_report`), read with the viewer's reach:
members of the alliance see it, anyone else gets the not-found page. The page speaks the
reader's language; the downloads are the engine's (English) documents.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, PlainTextResponse
from starlette.responses import Response

from cycle_engine.api.dashboard.web import VisitDep
from cycle_engine.api.deps import IdPath
from cycle_engine.notifications.reader import N_

#: The engine's titles of learning and outcome kinds (`alliances.learning`, `alliances.adoption`),
#: marked for the dashboard's catalogs: the page shows them in the reader's language.
REPORT_WORDS = (
    N_("Organisational learning practices"),
    N_("Development interventions"),
    N_("Specific knowledge and capacity development"),
    N_("Changes in an organisation's practice"),
    N_("Policy dialogue"),
    N_("Research needs"),
)


def register(router: APIRouter) -> None:
    @router.get("/alliances/{alliance_id}/learning")
    def learning_page(visit: VisitDep, alliance_id: IdPath) -> Response:
        viewer = visit.require_viewer()
        report = visit.engine.learning.alliance_report(alliance_id, reach=viewer.reach)
        alliance = visit.engine.alliances.get_alliance(alliance_id, reach=viewer.reach)
        return visit.page("learning_report.html", alliance=alliance, r=report)

    @router.get("/alliances/{alliance_id}/learning.md")
    def learning_markdown(visit: VisitDep, alliance_id: IdPath) -> Response:
        viewer = visit.require_viewer()
        text = visit.engine.learning.render_alliance_report(alliance_id, reach=viewer.reach)
        return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")

    @router.get("/alliances/{alliance_id}/learning.html")
    def learning_html(visit: VisitDep, alliance_id: IdPath) -> Response:
        viewer = visit.require_viewer()
        text = visit.engine.learning.render_alliance_report(alliance_id, "html", reach=viewer.reach)
        return HTMLResponse(text)
