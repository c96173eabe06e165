"""Reports: a cycle's report (as data, Markdown or HTML) and the overdue and stalled stages
across the cycles a key reaches, each with its reasons."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from sqlmodel import Session, select

from cycle_engine.alliances.report import CycleReport
from cycle_engine.api.auth import Principal, scope_cycles, visible_cycle
from cycle_engine.api.deps import CurrentKey, EngineDep, IdPath, PageDep, ReadSession
from cycle_engine.api.schemas import Page, page_of
from cycle_engine.scheduler.stalled import OverdueStage, StalledStage
from cycle_engine.store.tables import CycleRecord

router = APIRouter(tags=["reports"])
AllianceFilter = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="One alliance.")]


def _visible_ids(session: Session, key: Principal, ids: set[int]) -> set[int]:
    if not ids:
        return set()
    query = scope_cycles(select(CycleRecord.id).where(CycleRecord.id.in_(ids)), key)  # type: ignore[union-attr]
    return set(session.exec(query))


@router.get("/cycles/{cycle_id}/report", summary="The cycle report, as data")
def cycle_report(
    cycle_id: IdPath, engine: EngineDep, key: CurrentKey, session: ReadSession
) -> CycleReport:
    visible_cycle(session, key, cycle_id)
    return engine.work.cycle_report(cycle_id)


@router.get(
    "/cycles/{cycle_id}/report/{fmt}",
    summary="The cycle report, rendered",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/markdown": {}, "text/html": {}}}},
)
def rendered_report(
    cycle_id: IdPath,
    fmt: Literal["markdown", "html"],
    engine: EngineDep,
    key: CurrentKey,
    session: ReadSession,
) -> Response:
    visible_cycle(session, key, cycle_id)
    text = engine.work.render_report(cycle_id, fmt)
    if fmt == "html":
        return HTMLResponse(text)
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")


@router.get("/reports/overdue", summary="Overdue stages in reach, most overdue first")
def overdue(
    engine: EngineDep,
    key: CurrentKey,
    session: ReadSession,
    page: PageDep,
    alliance_id: AllianceFilter = None,
) -> Page[OverdueStage]:
    rows = engine.overdue(alliance_id)
    visible = _visible_ids(session, key, {r.cycle_id for r in rows})
    rows = [r for r in rows if r.cycle_id in visible]
    return page_of(rows[page.offset : page.offset + page.limit + 1], page.limit, page.offset)


@router.get("/reports/stalled", summary="Stalled stages in reach, with their reasons")
def stalled(
    engine: EngineDep,
    key: CurrentKey,
    session: ReadSession,
    page: PageDep,
    alliance_id: AllianceFilter = None,
) -> Page[StalledStage]:
    rows = engine.stalled(alliance_id)
    visible = _visible_ids(session, key, {r.cycle_id for r in rows})
    rows = [r for r in rows if r.cycle_id in visible]
    return page_of(rows[page.offset : page.offset + page.limit + 1], page.limit, page.offset)
