"""The coordinator's daily actions as forms on the cycle page (partners may fire triggers on
steps they carry): each POST checks the CSRF token and the viewer's reach, calls one engine
command as the viewer, and redirects back with what happened (POST-redirect-GET). A refusal
re-renders the cycle page with the engine's reason, so nothing is lost and nothing changes.

    POST /dashboard/cycles/{id}/fire                       trigger, note, version
    POST /dashboard/cycles/{id}/participation              stage, organisation_id, level, focal
    POST /dashboard/cycles/{id}/due-date                   stage, due (YYYY-MM-DD), reason
    POST /dashboard/cycles/{id}/products                   kind, title, link, organisation, form
    POST /dashboard/cycles/{id}/contexts/{cid}/results     rating, summary
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from urllib.parse import quote

from fastapi import APIRouter
from starlette.responses import Response

from cycle_engine.api.cycle_access import require_partner_stage
from cycle_engine.api.dashboard.access import Viewer, visible_cycle
from cycle_engine.api.dashboard.detail import event_summary, load_cycle_page
from cycle_engine.api.dashboard.web import PREFIX, Visit, VisitDep
from cycle_engine.api.deps import IdPath
from cycle_engine.errors import (
    ActionNotAllowed,
    ConflictError,
    CycleEngineError,
    InvalidInput,
    NotFound,
    TransitionNotAllowed,
)
from cycle_engine.store.tables import CycleRecord


def _int(form: dict[str, str], field: str, *, required: bool = True) -> int | None:
    value = form.get(field, "").strip()
    if not value:
        if required:
            raise InvalidInput(field, "must be chosen")
        return None
    if not value.isdigit() or len(value) > 10:
        raise InvalidInput(field, f"must be a number, got {value!r}")
    return int(value)


def _date(form: dict[str, str], field: str) -> date:
    value = form.get(field, "").strip()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(field, f"must be a date like 2026-05-31, got {value!r}") from None


def _explain(error: CycleEngineError) -> str:
    if isinstance(error, TransitionNotAllowed):
        return (
            f"Cannot fire “{error.trigger}”: " + ("; ".join(error.reasons) or "not allowed") + "."
        )
    if isinstance(error, ActionNotAllowed):
        return f"Cannot {error.action}: {error.reason}."
    if isinstance(error, ConflictError):
        return "Someone changed this cycle while you were looking; the page shows it as it is now."
    return str(error)


async def _act(
    visit: Visit,
    cycle_id: int,
    done: str,
    command: Callable[[Viewer, CycleRecord, dict[str, str]], None],
) -> Response:
    viewer = visit.require_viewer()
    await visit.check_csrf()
    form = await visit.form()
    with visit.engine.db.read_session() as session:
        cycle = visible_cycle(session, viewer, cycle_id)
    try:
        command(viewer, cycle, form)
    except NotFound:
        raise
    except CycleEngineError as error:
        status = 422 if isinstance(error, InvalidInput) else 409
        page = load_cycle_page(visit.engine, viewer, cycle_id)
        return visit.page(
            "cycle.html",
            status=status,
            p=page,
            event_summary=event_summary,
            notice=None,
            problem=_explain(error),
        )
    return visit.redirect(f"{PREFIX}/cycles/{cycle_id}?done={quote(done)}")


def register(router: APIRouter) -> None:
    @router.post("/cycles/{cycle_id}/fire")
    async def fire(visit: VisitDep, cycle_id: IdPath) -> Response:
        def command(viewer: Viewer, cycle: CycleRecord, form: dict[str, str]) -> None:
            trigger = form.get("trigger", "").strip()
            if not trigger:
                raise InvalidInput("trigger", "choose a trigger to fire")
            with visit.engine.db.read_session() as session:  # the API's partner rule
                require_partner_stage(session, viewer.principal(cycle.alliance_id), cycle, trigger)
            visit.engine.fire(
                cycle_id,
                trigger,
                actor=viewer.actor(cycle.alliance_id),
                note=form.get("note", "").strip() or None,
                expected_version=_int(form, "version", required=False),
            )

        trigger = (await visit.form()).get("trigger", "")
        return await _act(visit, cycle_id, f"Fired “{trigger[:100]}”.", command)

    @router.post("/cycles/{cycle_id}/participation")
    async def assign(visit: VisitDep, cycle_id: IdPath) -> Response:
        def command(viewer: Viewer, cycle: CycleRecord, form: dict[str, str]) -> None:
            organisation_id = _int(form, "organisation_id")
            assert organisation_id is not None
            visit.engine.work.assign(
                cycle_id,
                form.get("stage", ""),
                organisation_id,
                form.get("level", ""),
                focal_point_id=_int(form, "focal_point_id", required=False),
                actor=viewer.actor(cycle.alliance_id),
            )

        return await _act(visit, cycle_id, "Role assigned.", command)

    @router.post("/cycles/{cycle_id}/due-date")
    async def move_due(visit: VisitDep, cycle_id: IdPath) -> Response:
        def command(viewer: Viewer, cycle: CycleRecord, form: dict[str, str]) -> None:
            visit.engine.work.move_due_date(
                cycle_id,
                form.get("stage", ""),
                _date(form, "due"),
                reason=form.get("reason", ""),
                actor=viewer.actor(cycle.alliance_id),
            )

        return await _act(visit, cycle_id, "Due date moved.", command)

    @router.post("/cycles/{cycle_id}/products")
    async def add_product(visit: VisitDep, cycle_id: IdPath) -> Response:
        def command(viewer: Viewer, cycle: CycleRecord, form: dict[str, str]) -> None:
            organisation_id = _int(form, "organisation_id")
            assert organisation_id is not None
            visit.engine.work.add_product(
                cycle_id,
                form.get("kind", ""),
                form.get("title", ""),
                organisation_id,
                link=form.get("link") or None,
                form=form.get("form") or None,
                actor=viewer.actor(cycle.alliance_id),
            )

        return await _act(visit, cycle_id, "Product added.", command)

    @router.post("/cycles/{cycle_id}/contexts/{context_id}/results")
    async def report_context(visit: VisitDep, cycle_id: IdPath, context_id: IdPath) -> Response:
        def command(viewer: Viewer, cycle: CycleRecord, form: dict[str, str]) -> None:
            visit.engine.work.report_context(
                cycle_id,
                context_id,
                form.get("summary", ""),
                form.get("rating", ""),
                actor=viewer.actor(cycle.alliance_id),
            )

        return await _act(visit, cycle_id, "Context results recorded.", command)
