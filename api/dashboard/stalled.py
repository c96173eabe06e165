"""Stalled steps of an alliance, and the "nudge" that emails the people concerned.

    GET  /dashboard/alliances/{alliance_id}/stalled
    POST /dashboard/alliances/{alliance_id}/stalled/{cycle_id}/nudge   (coordinator, manager)

A nudge is one command: it appends a `nudged` event naming the stage visit, and the outbox
listener queues a reminder to the stage's focal point, deputy, lead and active organisations in
the same transaction. One nudge per step per NUDGE_INTERVAL, so a double click sends one email.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query
from sqlmodel import col, func, select
from starlette.responses import Response

from api.dashboard.access import managed_alliance, visible_alliance, visible_cycle
from api.dashboard.queries import stalled_rows
from api.dashboard.web import PREFIX, VisitDep
from api.deps import IdPath
from cycle_engine.actors import Actor
from cycle_engine.changes import Change, append_event
from cycle_engine.cycles import current_visit, lock_cycle
from cycle_engine.engine import CycleEngine
from cycle_engine.errors import ActionNotAllowed
from cycle_engine.models import ACTIVE, EventRecord
from cycle_engine.models.outbox import OutboxRecord

NUDGE_INTERVAL = timedelta(hours=12)
NUDGE_TO = ("focal_point", "deputy", "lead", "active")


def nudge(engine: CycleEngine, cycle_id: int, *, actor: Actor, note: str | None = None) -> int:
    """Nudge the people of the cycle's open stage; returns how many emails were queued.

    Raises:
        CycleNotFound: no such cycle.
        ActionNotAllowed: the cycle is finished, has no open stage, or was nudged recently.
    """
    now = engine.clock.now()
    with engine.db.transaction() as session:
        cycle = lock_cycle(session, cycle_id)
        visit = current_visit(session, cycle)
        if cycle.status != ACTIVE or visit is None or visit.left_at is not None:
            raise ActionNotAllowed("nudge", f"cycle {cycle_id} has no open step")
        recent = session.exec(
            select(EventRecord)
            .where(
                EventRecord.cycle_id == cycle_id,
                EventRecord.kind == "nudged",
                col(EventRecord.at) > now - NUDGE_INTERVAL,
            )
            .order_by(col(EventRecord.seq).desc())
        ).first()
        if recent is not None and recent.data.get("stage_visit_id") == visit.id:
            raise ActionNotAllowed(
                "nudge",
                f"this step was nudged at {recent.at:%Y-%m-%d %H:%M}"
                " UTC; wait before nudging again",
            )
        spec = engine.templates.spec(session, cycle.template_id)
        before = session.exec(
            select(func.count()).select_from(OutboxRecord).where(OutboxRecord.cycle_id == cycle_id)
        ).one()
        event = append_event(
            session,
            cycle,
            kind="nudged",
            actor=actor,
            now=now,
            note=note,
            data={"stage_visit_id": visit.id, "stage": visit.stage, "to": list(NUDGE_TO)},
        )
        session.flush()
        change = Change(session=session, cycle=cycle, spec=spec, event=event, actor=actor, now=now)
        for listener in engine.listeners:
            listener.on_change(change)
        session.flush()
        after = session.exec(
            select(func.count()).select_from(OutboxRecord).where(OutboxRecord.cycle_id == cycle_id)
        ).one()
        return int(after) - int(before)


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
                session, visit.engine.templates, viewer, alliance_id, visit.now, page
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
            sent = nudge(
                visit.engine,
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
