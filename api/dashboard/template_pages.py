"""An alliance's templates, the difference between two versions, and moving running cycles to a
new version: the preview as a table a coordinator reads before a confirm button.

    GET  /dashboard/alliances/{id}/templates                    built-in and own templates
    GET  /dashboard/alliances/{id}/templates/{key}/diff         what changed, in words
    POST /dashboard/alliances/{id}/templates/copy               copy into the alliance (coordinator)
    POST /dashboard/alliances/{id}/migrations                   make a plan and preview it
    POST /dashboard/alliances/{id}/migrations/{plan}/preview    preview it again
    POST /dashboard/alliances/{id}/migrations/{plan}/apply      the confirm button
    GET  /dashboard/alliances/{id}/migrations/{plan}            the plan and what applying did

Everyone who sees the alliance sees its templates and diffs; only its coordinators copy, plan,
preview and apply (the engine checks the viewer's reach and role in each command, as for the
API). A form the engine refuses (a bad key, a mapping naming no stage) re-renders the page with
its reason; a viewer who may not do it gets the 403 page, one out of reach the 404 page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query
from starlette.responses import Response

from cycle_engine.api.dashboard.web import SignedInForm, Visit, VisitDep, refusal_status
from cycle_engine.api.deps import IdPath
from cycle_engine.errors import ActionNotAllowed, InvalidInput, NotPermitted, RecordNotFound
from cycle_engine.store.tables import TemplateRecord
from cycle_engine.templates.plans import MigrationPlan

Key = Annotated[str, Query(max_length=100)]


def _number(form: dict[str, str], field: str) -> int | None:
    value = form.get(field, "").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 9:
        raise InvalidInput(field, f"must be a number, got {value!r}")
    return int(value)


def parse_mapping(text: str) -> dict[str, str]:
    """Lines like `prototype: prototyping` (or `=`); raises InvalidInput naming the line."""
    mapping: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        old, sep, new = line.replace("=", ":", 1).partition(":")
        if not sep or not old.strip() or not new.strip():
            raise InvalidInput("stage_map", f"line {number}: write old_stage: new_stage")
        mapping[old.strip()] = new.strip()
    return mapping


def _templates_page(
    visit: Visit, alliance_id: int, problem: str | None = None, status: int = 422
) -> Response:
    viewer = visit.require_viewer()
    engine = visit.engine
    alliance = engine.alliances.get_alliance(alliance_id, reach=viewer.reach)
    records = engine.templates.list(alliance_id=alliance_id, reach=viewer.reach)
    keys: dict[str, list[TemplateRecord]] = {}
    for record in records:
        keys.setdefault(record.key, []).append(record)
    notice = visit.request.query_params.get("done")
    return visit.page(
        "template_list.html",
        status=status if problem else 200,
        alliance=alliance,
        keys=keys,
        running=engine.migrations.running(alliance_id),
        plans=engine.migrations.list(alliance_id=alliance_id, reach=viewer.reach)[:20],
        can_change=viewer.coordinates(alliance_id),
        notice=notice[:200] if notice else None,
        problem=problem,
    )


def register(router: APIRouter) -> None:
    @router.get("/alliances/{alliance_id}/templates")
    def template_list(visit: VisitDep, alliance_id: IdPath) -> Response:
        return _templates_page(visit, alliance_id)

    @router.get("/alliances/{alliance_id}/templates/{key}/diff")
    def template_diff(
        visit: VisitDep,
        alliance_id: IdPath,
        key: str,
        from_version: Annotated[int, Query(alias="from", ge=1, le=2**31 - 1)],
        to_version: Annotated[int, Query(alias="to", ge=1, le=2**31 - 1)],
        from_key: Key = "",
    ) -> Response:
        viewer = visit.require_viewer()
        engine = visit.engine
        alliance = engine.alliances.get_alliance(alliance_id, reach=viewer.reach)
        found = engine.templates.diff(
            key,
            from_version,
            to_version,
            from_key=from_key or None,
            alliance_id=alliance_id,
            reach=viewer.reach,
        )
        return visit.page("template_diff.html", alliance=alliance, diff=found)

    @router.post("/alliances/{alliance_id}/templates/copy")
    def copy_template(visit: VisitDep, alliance_id: IdPath, form: SignedInForm) -> Response:
        return _refused_or(visit, alliance_id, lambda: _copy(visit, alliance_id, form))

    @router.post("/alliances/{alliance_id}/migrations")
    def plan_migration(visit: VisitDep, alliance_id: IdPath, form: SignedInForm) -> Response:
        return _refused_or(visit, alliance_id, lambda: _plan(visit, alliance_id, form))

    @router.post("/alliances/{alliance_id}/migrations/{plan_id}/preview")
    def preview_migration(
        visit: VisitDep, alliance_id: IdPath, plan_id: IdPath, _form: SignedInForm
    ) -> Response:
        return _preview_page(visit, alliance_id, plan_id)

    @router.post("/alliances/{alliance_id}/migrations/{plan_id}/apply")
    def apply_migration(
        visit: VisitDep, alliance_id: IdPath, plan_id: IdPath, _form: SignedInForm
    ) -> Response:
        viewer = visit.require_viewer()
        _plan_of(visit, alliance_id, plan_id)
        report = visit.engine.migrations.apply(
            plan_id, actor=viewer.actor(alliance_id), reach=viewer.reach
        )
        done = visit.words.ngettext(
            "Migrated %(num)d cycle to %(target)s.",
            "Migrated %(num)d cycles to %(target)s.",
            len(report.migrated),
            target=report.target,
        )
        if report.skipped:
            done += " " + visit.words.gettext(
                "Skipped %(count)s (see below).", count=len(report.skipped)
            )
        url = f"/alliances/{alliance_id}/migrations/{plan_id}?done={quote(done)}"
        return visit.redirect(visit.url(url))

    @router.get("/alliances/{alliance_id}/migrations/{plan_id}")
    def migration_plan(visit: VisitDep, alliance_id: IdPath, plan_id: IdPath) -> Response:
        viewer = visit.require_viewer()
        plan = _plan_of(visit, alliance_id, plan_id)
        alliance = visit.engine.alliances.get_alliance(alliance_id, reach=viewer.reach)
        notice = visit.request.query_params.get("done")
        return visit.page(
            "migration_plan.html",
            alliance=alliance,
            plan=plan,
            can_change=viewer.coordinates(alliance_id),
            notice=notice[:300] if notice else None,
        )


def _refused_or(visit: Visit, alliance_id: int, command: Callable[[], Response]) -> Response:
    """The command's page, or the templates page with the reason the engine refused the form
    (who may not do it at all gets the 403 page, through `DashboardRoute`)."""
    try:
        return command()
    except (InvalidInput, ActionNotAllowed) as refused:
        if isinstance(refused, NotPermitted):
            raise
        return _templates_page(
            visit, alliance_id, problem=str(refused), status=refusal_status(refused)
        )


def _copy(visit: Visit, alliance_id: int, form: dict[str, str]) -> Response:
    viewer = visit.require_viewer()
    published = visit.engine.templates.copy(
        form.get("key", "").strip(),
        form.get("new_key", "").strip(),
        alliance_id=alliance_id,
        actor=viewer.actor(alliance_id),
        reach=viewer.reach,
    )
    done = visit.words.gettext(
        "Copied as %(key)s v%(version)s: yours to change.",
        key=published.key,
        version=published.version,
    )
    return visit.redirect(visit.url(f"/alliances/{alliance_id}/templates?done={quote(done)}"))


def _plan(visit: Visit, alliance_id: int, form: dict[str, str]) -> Response:
    viewer = visit.require_viewer()
    plan = visit.engine.migrations.create_plan(
        form.get("key", "").strip(),
        to_version=_number(form, "to_version"),
        alliance_id=alliance_id,
        from_key=form.get("from_key", "").strip() or None,
        from_version=_number(form, "from_version"),
        stage_map=parse_mapping(form.get("stage_map", "")),
        unentered="keep" if form.get("unentered") == "keep" else "replan",
        actor=viewer.actor(alliance_id),
        reach=viewer.reach,
    )
    return _preview_page(visit, alliance_id, plan.id)


def _plan_of(visit: Visit, alliance_id: int, plan_id: int) -> MigrationPlan:
    """The plan, when it is this alliance's and in the viewer's reach (else not found)."""
    viewer = visit.require_viewer()
    plan = visit.engine.migrations.get(plan_id, reach=viewer.reach)
    if plan.alliance_id != alliance_id:
        raise RecordNotFound("migration plan", plan_id)
    return plan


def _preview_page(visit: Visit, alliance_id: int, plan_id: int) -> Response:
    viewer = visit.require_viewer()
    _plan_of(visit, alliance_id, plan_id)
    engine = visit.engine
    alliance = engine.alliances.get_alliance(alliance_id, reach=viewer.reach)
    preview = engine.migrations.preview(
        plan_id, actor=viewer.actor(alliance_id), reach=viewer.reach
    )
    return visit.page("migration_preview.html", alliance=alliance, preview=preview)
