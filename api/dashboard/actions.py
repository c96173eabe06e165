"""The coordinator's daily actions as forms on the cycle page (partners may fire triggers on
steps they carry): each POST checks the CSRF token, calls one engine command as the viewer with
the viewer's reach and the version the form was rendered at, and redirects back with what
happened (POST-redirect-GET). The engine checks reach, version and the viewer's part in the stage
on the locked cycle, inside the command's transaction. A refusal re-renders the cycle page with
the engine's reason, so nothing is lost and nothing changes.

    POST /dashboard/cycles/{id}/fire                       trigger, note, version
    POST /dashboard/cycles/{id}/participation              stage, organisation_id, level, focal
    POST /dashboard/cycles/{id}/due-date                   stage, due (YYYY-MM-DD), reason
    POST /dashboard/cycles/{id}/products                   kind, title, link, organisation, form
    POST /dashboard/cycles/{id}/contexts/{cid}/results     rating, summary
    POST /dashboard/cycles/{id}/follow                     follow (yes: follow, no: unfollow)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from urllib.parse import quote

from fastapi import APIRouter
from starlette.responses import Response

from cycle_engine.api.access import Viewer
from cycle_engine.api.dashboard.detail import event_summary, load_cycle_page
from cycle_engine.api.dashboard.web import SignedInForm, Visit, VisitDep, refusal_status
from cycle_engine.api.deps import IdPath
from cycle_engine.api.fields import MAX_ID
from cycle_engine.errors import (
    ActionNotAllowed,
    ConflictError,
    CycleEngineError,
    InvalidInput,
    NotFound,
    TransitionNotAllowed,
)
from cycle_engine.notifications.reader import Words
from cycle_engine.notifications.template_texts import trigger_label
from cycle_engine.store.tables import CycleRecord


def _int(form: dict[str, str], field: str, *, required: bool = True) -> int | None:
    value = form.get(field, "").strip()
    if not value:
        if required:
            raise InvalidInput(field, "must be chosen")
        return None
    number = int(value) if value.isascii() and value.isdigit() and len(value) <= 10 else 0
    if not 0 < number <= MAX_ID:
        raise InvalidInput(field, f"must be a number from 1 to {MAX_ID}, got {value[:20]!r}")
    return number


def _date(form: dict[str, str], field: str) -> date:
    value = form.get(field, "").strip()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(field, f"must be a date like 2026-05-31, got {value[:20]!r}") from None


def _explain(error: CycleEngineError, words: Words) -> str:
    if isinstance(error, TransitionNotAllowed):
        return words.gettext(
            "Cannot fire “%(trigger)s”: %(reasons)s.",
            trigger=trigger_label(error.trigger, words.language),
            reasons="; ".join(error.reasons) or words.gettext("not allowed"),
        )
    if isinstance(error, ActionNotAllowed):
        return words.gettext(
            "Cannot %(action)s: %(reason)s.", action=error.action, reason=error.reason
        )
    if isinstance(error, ConflictError):
        return words.gettext(
            "Someone changed this cycle while you were looking; the page shows it as it is now."
        )
    return str(error)


#: One command on a cycle, given the viewer, the cycle as read, the form and its version.
Command = Callable[[Viewer, CycleRecord, dict[str, str], int | None], None]


def _act(
    visit: Visit, cycle_id: int, form: dict[str, str], done: str, command: Command
) -> Response:
    viewer = visit.require_viewer()
    cycle = visit.engine.cycles.get_cycle(cycle_id, reach=viewer.reach)  # its alliance: the role
    try:
        command(viewer, cycle, form, _int(form, "version", required=False))
    except NotFound:
        raise
    except CycleEngineError as error:
        status = refusal_status(error)
        page = load_cycle_page(visit.engine, viewer, cycle_id, visit.words)
        return visit.page(
            "cycle.html",
            status=status,
            p=page,
            event_summary=event_summary,
            notice=None,
            problem=_explain(error, visit.words),
        )
    return visit.redirect(visit.url(f"/cycles/{cycle_id}?done={quote(done)}"))


def register(router: APIRouter) -> None:
    @router.post("/cycles/{cycle_id}/fire")
    def fire(visit: VisitDep, cycle_id: IdPath, form: SignedInForm) -> Response:
        def command(
            viewer: Viewer, cycle: CycleRecord, form: dict[str, str], version: int | None
        ) -> None:
            trigger = form.get("trigger", "").strip()
            if not trigger:
                raise InvalidInput("trigger", "choose a trigger to fire")
            visit.engine.cycles.fire(
                cycle_id,
                trigger,
                actor=viewer.actor(cycle.alliance_id),
                note=form.get("note", "").strip() or None,
                expected_version=version,
                reach=viewer.reach,
            )

        trigger = form.get("trigger", "")
        return _act(
            visit,
            cycle_id,
            form,
            visit.words.gettext(
                "Fired “%(trigger)s”.", trigger=trigger_label(trigger[:100], visit.words.language)
            ),
            command,
        )

    @router.post("/cycles/{cycle_id}/participation")
    def assign(visit: VisitDep, cycle_id: IdPath, form: SignedInForm) -> Response:
        def command(
            viewer: Viewer, cycle: CycleRecord, form: dict[str, str], version: int | None
        ) -> None:
            organisation_id = _int(form, "organisation_id")
            assert organisation_id is not None
            visit.engine.work.assign(
                cycle_id,
                form.get("stage", ""),
                organisation_id,
                form.get("level", ""),
                focal_point_id=_int(form, "focal_point_id", required=False),
                actor=viewer.actor(cycle.alliance_id),
                expected_version=version,
                reach=viewer.reach,
            )

        return _act(visit, cycle_id, form, visit.words.gettext("Role assigned."), command)

    @router.post("/cycles/{cycle_id}/due-date")
    def move_due(visit: VisitDep, cycle_id: IdPath, form: SignedInForm) -> Response:
        def command(
            viewer: Viewer, cycle: CycleRecord, form: dict[str, str], version: int | None
        ) -> None:
            visit.engine.work.move_due_date(
                cycle_id,
                form.get("stage", ""),
                _date(form, "due"),
                reason=form.get("reason", ""),
                actor=viewer.actor(cycle.alliance_id),
                expected_version=version,
                reach=viewer.reach,
            )

        return _act(visit, cycle_id, form, visit.words.gettext("Due date moved."), command)

    @router.post("/cycles/{cycle_id}/products")
    def add_product(visit: VisitDep, cycle_id: IdPath, form: SignedInForm) -> Response:
        def command(
            viewer: Viewer, cycle: CycleRecord, form: dict[str, str], version: int | None
        ) -> None:
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
                expected_version=version,
                reach=viewer.reach,
            )

        return _act(visit, cycle_id, form, visit.words.gettext("Product added."), command)

    @router.post("/cycles/{cycle_id}/contexts/{context_id}/results")
    def report_context(
        visit: VisitDep, cycle_id: IdPath, context_id: IdPath, form: SignedInForm
    ) -> Response:
        def command(
            viewer: Viewer, cycle: CycleRecord, form: dict[str, str], version: int | None
        ) -> None:
            visit.engine.work.report_context(
                cycle_id,
                context_id,
                form.get("summary", ""),
                form.get("rating", ""),
                actor=viewer.actor(cycle.alliance_id),
                expected_version=version,
                reach=viewer.reach,
            )

        return _act(
            visit, cycle_id, form, visit.words.gettext("Context results recorded."), command
        )

    router.add_api_route("/cycles/{cycle_id}/follow", follow_cycle, methods=["POST"])


def follow_cycle(visit: VisitDep, cycle_id: IdPath, form: SignedInForm) -> Response:
    """A member with no role follows the cycle (its results reach them), or stops."""
    wanted = form.get("follow", "")

    def command(
        viewer: Viewer, cycle: CycleRecord, form: dict[str, str], version: int | None
    ) -> None:
        if wanted not in ("yes", "no"):
            raise InvalidInput("follow", f"must be yes or no, got {wanted[:20]!r}")
        learning, actor = visit.engine.learning, viewer.actor(cycle.alliance_id)
        if wanted == "yes":
            learning.follow_cycle(cycle_id, viewer.person_id, actor=actor, reach=viewer.reach)
        else:
            learning.unfollow_cycle(cycle_id, viewer.person_id, actor=actor, reach=viewer.reach)

    done = (
        visit.words.gettext("You follow this cycle: its results will reach you by email.")
        if wanted == "yes"
        else visit.words.gettext("You no longer follow this cycle.")
    )
    return _act(visit, cycle_id, form, done, command)
