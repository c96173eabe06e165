"""Partner engagement per organisation: reminders answered, steps overdue, staff turnover.

    GET /dashboard/alliances/{alliance_id}/engagement   (coordinators and managers)

The figures are the engine's (`engine.outbox.engagement`): reminder-type emails sent to an
organisation's people over ENGAGEMENT_WINDOW and the actions they took from an email; open,
overdue stages it leads (overdue as in every list); turnover over the last year.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter
from starlette.responses import Response

from cycle_engine.api.access import managed_alliance
from cycle_engine.api.dashboard.web import VisitDep
from cycle_engine.api.deps import IdPath

ENGAGEMENT_WINDOW = timedelta(days=90)


def register(router: APIRouter) -> None:
    @router.get("/alliances/{alliance_id}/engagement")
    def engagement_page(visit: VisitDep, alliance_id: IdPath) -> Response:
        viewer = visit.require_viewer()
        alliance = managed_alliance(visit.engine, viewer.access, alliance_id)
        rows = visit.engine.outbox.engagement(alliance_id, window=ENGAGEMENT_WINDOW)
        return visit.page(
            "engagement.html", alliance=alliance, rows=rows, window_days=ENGAGEMENT_WINDOW.days
        )
