"""The overview of one alliance: its figures, and which cycles are stuck, who must act and why.

GET /dashboard/alliances/{alliance_id}

Every figure and list is the engine's one list of cycles (counts and short pages of it), within
the viewer's reach. The stuck cycles are one list, not two (overdue ones first, most overdue
first, then those stalled without being overdue), each with who must act (`blockers`). The
on-time figure counts the stages now past their deadline with those finished in the last 90
days, so "on time" cannot read 100% beside overdue cycles (issue 14).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter
from starlette.responses import Response

from cycle_engine.api.dashboard.blockers import blockers_for
from cycle_engine.api.dashboard.rows import CycleRow, Overview, overview, rows
from cycle_engine.api.dashboard.web import VisitDep
from cycle_engine.api.deps import IdPath
from cycle_engine.cycles.listing import CycleFilter
from cycle_engine.store.tables import ACTIVE

SHOWN = 6


@dataclass(frozen=True, kw_only=True)
class OnTime:
    """Stages on time, counting the open ones past their deadline as late."""

    finished_on_time: int
    finished: int
    overdue_now: int

    @classmethod
    def of(cls, figures: Overview) -> OnTime:
        rate = figures.on_time_rate or 0.0
        return cls(
            finished_on_time=round(rate * figures.closed_visits),
            finished=figures.closed_visits,
            overdue_now=figures.overdue,
        )

    @property
    def judged(self) -> int:
        return self.finished + self.overdue_now

    @property
    def rate(self) -> float | None:
        return self.finished_on_time / self.judged if self.judged else None

    @property
    def tone(self) -> str:
        if self.rate is None:
            return ""
        return "good" if self.overdue_now == 0 and self.rate >= 0.8 else "warn"


def stuck_rows(overdue: list[CycleRow], stalled: list[CycleRow]) -> list[CycleRow]:
    """One list: overdue cycles first (as given), then stalled ones not already listed."""
    seen = {row.cycle.id for row in overdue}
    return [*overdue, *(row for row in stalled if row.cycle.id not in seen)]


def register(router: APIRouter) -> None:
    @router.get("/alliances/{alliance_id}")
    def alliance_overview(visit: VisitDep, alliance_id: IdPath) -> Response:
        viewer = visit.require_viewer()
        engine = visit.engine
        alliance = engine.alliances.get_alliance(alliance_id, reach=viewer.reach)
        figures = overview(engine, viewer, alliance_id)
        overdue = engine.cycles.list_rows(
            CycleFilter(alliance_id=alliance_id, reach=viewer.reach, status=ACTIVE, overdue=True),
            limit=SHOWN + 1,
            order="due",
        )
        stalled = engine.cycles.list_rows(
            CycleFilter(alliance_id=alliance_id, reach=viewer.reach, status=ACTIVE, stalled=True),
            limit=SHOWN + 1,
            order="stalled_since",
        )
        stuck = stuck_rows(rows(engine, overdue), rows(engine, stalled))
        shown = stuck[:SHOWN]
        return visit.page(
            "overview.html",
            alliance=alliance,
            figures=figures,
            on_time=OnTime.of(figures),
            stuck=shown,
            more_stuck=len(stuck) > SHOWN,
            blockers=blockers_for(engine, [row.cycle for row in shown], visit.words),
            can_nudge=viewer.manages(alliance_id),
            role=viewer.role_in(alliance_id),
        )
