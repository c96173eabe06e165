"""Reports: a cycle's report (as data, Markdown or HTML) and the overdue and stalled stages
across the cycles a key reaches, each with its reasons. Overdue and stalled are the scheduler's
own queries (`engine.timers`), limited to the key's reach: the same meaning as every list."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from cycle_engine.alliances.report import CycleReport
from cycle_engine.api.deps import CurrentKey, EngineDep, IdPath, PageDep
from cycle_engine.api.fields import MAX_ID
from cycle_engine.api.schemas import Page, page_of
from cycle_engine.scheduler.stalled import OverdueStage, StalledStage

router = APIRouter(tags=["reports"])
AllianceFilter = Annotated[int | None, Query(ge=1, le=MAX_ID, description="One alliance.")]


@router.get("/cycles/{cycle_id}/report", summary="The cycle report, as data")
def cycle_report(cycle_id: IdPath, engine: EngineDep, key: CurrentKey) -> CycleReport:
    engine.cycles.get_cycle(cycle_id, reach=key.reach)
    return engine.work.cycle_report(cycle_id)


@router.get(
    "/cycles/{cycle_id}/report/{fmt}",
    summary="The cycle report, rendered",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/markdown": {}, "text/html": {}}}},
)
def rendered_report(
    cycle_id: IdPath, fmt: Literal["markdown", "html"], engine: EngineDep, key: CurrentKey
) -> Response:
    engine.cycles.get_cycle(cycle_id, reach=key.reach)
    text = engine.work.render_report(cycle_id, fmt)
    if fmt == "html":
        return HTMLResponse(text)
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")


@router.get("/reports/overdue", summary="Overdue stages in reach, most overdue first")
def overdue(
    engine: EngineDep, key: CurrentKey, page: PageDep, alliance_id: AllianceFilter = None
) -> Page[OverdueStage]:
    """A stage due exactly now is overdue, as everywhere else."""
    rows = engine.timers.overdue(alliance_id, reach=key.reach)
    return page_of(rows[page.offset : page.offset + page.limit + 1], page.limit, page.offset)


@router.get("/reports/stalled", summary="Stalled stages in reach, with their reasons")
def stalled(
    engine: EngineDep, key: CurrentKey, page: PageDep, alliance_id: AllianceFilter = None
) -> Page[StalledStage]:
    rows = engine.timers.stalled(alliance_id, reach=key.reach)
    return page_of(rows[page.offset : page.offset + page.limit + 1], page.limit, page.offset)
