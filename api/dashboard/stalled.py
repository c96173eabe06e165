"""Stalled steps of an alliance, and the "nudge" that emails the people concerned.

    GET  /dashboard/alliances/{alliance_id}/stalled
    POST /dashboard/alliances/{alliance_id}/stalled/{cycle_id}/nudge   (coordinator, manager)

The list is the engine's one list of cycles, stalled ones first by how long, each with who
must act and why (`blockers`); the nudge is the engine's `engine.outbox.nudge` command, which
checks the viewer's reach (narrowed to the alliance they manage) on the locked cycle. A nudge
that reached nobody says so, and why, in a warning rather than a green "0 emails queued".
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query
from starlette.responses import Response

from cycle_engine.api.access import managed_alliance
from cycle_engine.api.dashboard.blockers import Directory, blockers_for, who_must_act
from cycle_engine.api.dashboard.rows import page_of
from cycle_engine.api.dashboard.web import SignedInForm, VisitDep
from cycle_engine.api.deps import IdPath
from cycle_engine.cycles.listing import CycleFilter
from cycle_engine.errors import ActionNotAllowed
from cycle_engine.store.tables import ACTIVE


def register(router: APIRouter) -> None:
    @router.get("/alliances/{alliance_id}/stalled")
    def stalled_page(
        visit: VisitDep,
        alliance_id: IdPath,
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    ) -> Response:
        viewer = visit.require_viewer()
        engine = visit.engine
        alliance = engine.alliances.get_alliance(alliance_id, reach=viewer.reach)
        stalled = CycleFilter(
            alliance_id=alliance_id, reach=viewer.reach, status=ACTIVE, stalled=True
        )
        result = page_of(engine, stalled, page, order="stalled_since")
        notice = visit.request.query_params.get("done")
        tone = visit.request.query_params.get("tone")
        return visit.page(
            "stalled.html",
            alliance=alliance,
            result=result,
            blockers=blockers_for(engine, [row.cycle for row in result.rows], visit.words),
            can_nudge=viewer.manages(alliance_id),
            notice=notice[:300] if notice else None,
            tone="warn" if tone == "warn" else "good",
        )

    @router.post("/alliances/{alliance_id}/stalled/{cycle_id}/nudge")
    def nudge_step(
        visit: VisitDep, alliance_id: IdPath, cycle_id: IdPath, _form: SignedInForm
    ) -> Response:
        viewer = visit.require_viewer()
        engine = visit.engine
        managed_alliance(engine, viewer.access, alliance_id)
        try:
            sent = engine.outbox.nudge(
                cycle_id,
                actor=viewer.actor(alliance_id),
                note=f"nudged from the dashboard by {viewer.name}",
                reach=viewer.reach.within(alliance_id),
            )
            cycle = engine.cycles.get_cycle(cycle_id)
            words = visit.words
            if sent:
                tone = "good"
                message = words.ngettext(
                    "Nudged: %(num)d email queued for “%(cycle)s”.",
                    "Nudged: %(num)d emails queued for “%(cycle)s”.",
                    sent,
                    cycle=cycle.title,
                )
            else:  # honest: nobody was told, and what would let someone be
                tone = "warn"
                blocker = who_must_act(
                    engine, Directory.of(engine, cycle.alliance_id), cycle, words
                )
                why = f" {blocker.reason[:1].upper()}{blocker.reason[1:]}." if blocker else ""
                who = (
                    " " + words.gettext("%(who)s must act.", who=blocker.who)
                    if blocker and blocker.contacts
                    else ""
                )
                message = (
                    words.gettext(
                        "Nobody was emailed about “%(cycle)s”: its step has no one to tell"
                        " (no active focal point, lead or active organisation).",
                        cycle=cycle.title,
                    )
                    + why
                    + who
                )
        except ActionNotAllowed as refused:
            tone = "warn"
            message = visit.words.gettext("Not nudged: %(reason)s.", reason=refused.reason)
        if visit.request.headers.get("hx-request"):
            return visit.page("partials/nudged.html", message=message, tone=tone)
        return visit.redirect(
            visit.url(f"/alliances/{alliance_id}/stalled?done={quote(message)}&tone={tone}")
        )
