"""Partners choose their level, on a page of its own: each organisation's level per stage, the
proposals and the coordinator's decisions (issue 12).

    GET  /dashboard/cycles/{id}/levels                    the stages, levels and proposals
    POST /dashboard/cycles/{id}/levels/propose            stage, level (the viewer's organisation)
    POST /dashboard/cycles/{id}/levels/{pid}/decide       level (blank: as proposed), decline

A partner proposes for its own organisation only, on the cycles it reads (the API also takes a
proposal for a cycle of its alliance where it has no role yet); the alliance's coordinator
confirms, changes or declines. Every POST checks the CSRF token and runs
one engine command with the viewer's reach (`engine.learning`); a refusal re-renders the page
with the engine's reason and changes nothing.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter
from starlette.responses import Response

from cycle_engine.api.access import Viewer
from cycle_engine.api.dashboard.formatting import word_in
from cycle_engine.api.dashboard.web import SignedInForm, Visit, VisitDep, refusal_status
from cycle_engine.api.deps import IdPath
from cycle_engine.errors import ActionNotAllowed, CycleEngineError, NotFound
from cycle_engine.store.tables.alliances import LEVELS


def _page(
    visit: Visit, viewer: Viewer, cycle_id: int, *, status: int = 200, problem: str | None = None
) -> Response:
    engine = visit.engine
    proposals = engine.learning.proposals(cycle_id, reach=viewer.reach)
    cycle = engine.cycles.get_cycle(cycle_id)  # in reach: proposals() checked it
    spec = engine.templates.spec_of(cycle.template_id)
    names = {
        m.organisation.id: m.organisation.name
        for m in engine.alliances.alliance_members(cycle.alliance_id or 0)
    }
    levels = {(p.stage, p.organisation_id): p.level for p in engine.work.participants(cycle_id)}
    return visit.page(
        "levels.html",
        status=status,
        cycle=cycle,
        stages=[(s.key, s.title) for s in spec.work_stages],
        levels=levels,
        proposals=proposals,
        names=names,
        choices=LEVELS,
        coordinates=viewer.coordinates(cycle.alliance_id),
        notice=visit.request.query_params.get("done"),
        problem=problem,
    )


def _refused(visit: Visit, viewer: Viewer, cycle_id: int, error: CycleEngineError) -> Response:
    reason = (
        visit.words.gettext(
            "Cannot %(action)s: %(reason)s.", action=error.action, reason=error.reason
        )
        if isinstance(error, ActionNotAllowed)
        else str(error)
    )
    return _page(visit, viewer, cycle_id, status=refusal_status(error), problem=reason)


def register(router: APIRouter) -> None:
    @router.get("/cycles/{cycle_id}/levels")
    def levels_page(visit: VisitDep, cycle_id: IdPath) -> Response:
        return _page(visit, visit.require_viewer(), cycle_id)

    @router.post("/cycles/{cycle_id}/levels/propose")
    def propose(visit: VisitDep, cycle_id: IdPath, form: SignedInForm) -> Response:
        viewer = visit.require_viewer()
        try:
            cycle = visit.engine.cycles.get_cycle(cycle_id, reach=viewer.reach)
            visit.engine.learning.propose_level(
                cycle_id,
                form.get("stage", ""),
                viewer.organisation_id,
                form.get("level", ""),
                note=form.get("note", "").strip() or None,
                actor=viewer.actor(cycle.alliance_id),
                reach=viewer.reach,
            )
        except NotFound:
            raise
        except CycleEngineError as error:
            return _refused(visit, viewer, cycle_id, error)
        done = quote(
            visit.words.gettext(
                "Your organisation's level was proposed; the coordinator will confirm it."
            )
        )
        return visit.redirect(visit.url(f"/cycles/{cycle_id}/levels?done={done}"))

    @router.post("/cycles/{cycle_id}/levels/{proposal_id}/decide")
    def decide(
        visit: VisitDep, cycle_id: IdPath, proposal_id: IdPath, form: SignedInForm
    ) -> Response:
        viewer = visit.require_viewer()
        try:
            cycle = visit.engine.cycles.get_cycle(cycle_id, reach=viewer.reach)
            proposal = visit.engine.learning.decide_proposal(
                cycle_id,
                proposal_id,
                level=form.get("level", "").strip() or None,
                decline=form.get("decline") == "yes",
                note=form.get("note", "").strip() or None,
                actor=viewer.actor(cycle.alliance_id),
                reach=viewer.reach,
            )
        except NotFound:
            raise
        except CycleEngineError as error:
            return _refused(visit, viewer, cycle_id, error)
        done = quote(
            visit.words.gettext(
                "Proposal %(id)s: %(status)s.",
                id=proposal_id,
                status=word_in(proposal.status, visit.words),
            )
        )
        return visit.redirect(visit.url(f"/cycles/{cycle_id}/levels?done={done}"))
