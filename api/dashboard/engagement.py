"""Partner engagement per organisation: reminders answered, steps overdue, staff turnover.

    GET /dashboard/alliances/{alliance_id}/engagement   (coordinators and managers)

The figures are the engine's (`engine.outbox.engagement`): reminder-type emails sent to an
organisation's people over ENGAGEMENT_WINDOW and the actions they took from an email; open,
overdue stages it leads (overdue as in every list); turnover over the last year. Organisations
with a problem come first, the worst first (steps needing a focal point, then overdue steps,
then turnover), so the three that need attention are not buried among seventy-six.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter
from starlette.responses import Response

from cycle_engine.api.access import managed_alliance
from cycle_engine.api.dashboard.web import VisitDep
from cycle_engine.api.deps import IdPath
from cycle_engine.outbox.engagement import Engagement

ENGAGEMENT_WINDOW = timedelta(days=90)


def problems_first(row: Engagement) -> tuple[int, int, int, float, str]:
    """Sort key: organisations with problems first, the worst first, then by name."""
    return (
        -row.needing_focal_point,
        -row.overdue_steps,
        -row.left,
        -row.turnover_rate,
        row.organisation,
    )


def has_problem(row: Engagement) -> bool:
    return bool(row.needing_focal_point or row.overdue_steps or row.left)


def register(router: APIRouter) -> None:
    @router.get("/alliances/{alliance_id}/engagement")
    def engagement_page(visit: VisitDep, alliance_id: IdPath) -> Response:
        viewer = visit.require_viewer()
        alliance = managed_alliance(visit.engine, viewer.access, alliance_id)
        rows = sorted(
            visit.engine.outbox.engagement(alliance_id, window=ENGAGEMENT_WINDOW),
            key=problems_first,
        )
        return visit.page(
            "engagement.html",
            alliance=alliance,
            rows=rows,
            troubled=sum(1 for row in rows if has_problem(row)),
            window_days=ENGAGEMENT_WINDOW.days,
        )
