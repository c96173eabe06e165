"""The template editor's pages: coordinators design a template in a form, see it checked and
drawn as they go, keep it as a draft, and publish it after a preview.

    GET  /dashboard/alliances/{id}/editor                    drafts, and starting one
    POST /dashboard/alliances/{id}/editor                    start a draft (empty or a copy)
    GET  /dashboard/alliances/{id}/editor/{draft}            the editor
    POST /dashboard/alliances/{id}/editor/{draft}            a button: add/remove/move, apply
                                                             the text, save, publish
    POST /dashboard/alliances/{id}/editor/{draft}/check      live check (editor.js): JSON parts
    GET  /dashboard/alliances/{id}/editor/{draft}/download   the saved draft as a YAML file
    POST /dashboard/alliances/{id}/editor/{draft}/import     a YAML file into the editor
    POST /dashboard/alliances/{id}/editor/{draft}/discard    delete the draft
    GET  /dashboard/alliances/{id}/editor/{draft}/publish    the diff and migration preview
    POST /dashboard/alliances/{id}/editor/{draft}/publish    the confirm button
    POST /dashboard/alliances/{id}/editor/cycles             start a cycle on a published key

Only the alliance's coordinators (administrators) reach these pages: the drafts service checks
the viewer's reach and role in every command, as the template service does for publishing; a
viewer out of reach gets the 404 page, one who may not edit the 403 page. Every form carries
the CSRF token; every page works without JavaScript.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import JSONResponse, Response

from cycle_engine.api.dashboard.editor.check import in_language
from cycle_engine.api.dashboard.editor.session import EditorSession, render_editor, render_parts
from cycle_engine.api.dashboard.web import SignedInForm, Visit, VisitDep, secure
from cycle_engine.api.deps import IdPath
from cycle_engine.errors import InvalidInput, InvalidTemplate, NotPermitted
from cycle_engine.spec.loader import MAX_TEMPLATE_BYTES
from cycle_engine.spec.messages import problem_text
from cycle_engine.templates.drafts import DraftConflict


def _base(visit: Visit, alliance_id: int, draft_id: int) -> str:
    return visit.url(f"/alliances/{alliance_id}/editor/{draft_id}")


def _revision(form: dict[str, str]) -> int:
    value = form.get("revision", "").strip()
    if not value.isdigit() or len(value) > 9:
        raise InvalidInput("revision", f"must be a number, got {value!r}")
    return int(value)


def _index(visit: Visit, alliance_id: int, problem: str | None = None) -> Response:
    viewer = visit.require_viewer()
    engine = visit.engine
    alliance = engine.alliances.get_alliance(alliance_id, reach=viewer.reach)
    if not viewer.coordinates(alliance_id):
        raise NotPermitted("edit templates", "only the alliance's coordinators edit templates")
    actor = viewer.actor(alliance_id)
    drafts = engine.drafts.list(alliance_id=alliance_id, actor=actor, reach=viewer.reach)
    drafts += engine.drafts.list(alliance_id=None, actor=actor, reach=viewer.reach)  # admins
    records = engine.templates.list(alliance_id=alliance_id, reach=viewer.reach)
    keys = sorted({r.key for r in records if r.status == "published"})
    notice = visit.request.query_params.get("done")
    return visit.page(
        "editor/index.html",
        status=422 if problem else 200,
        alliance=alliance,
        drafts=drafts,
        keys=keys,
        own_keys=sorted({r.key for r in records if r.alliance_id == alliance_id}),
        builtin_allowed=viewer.reach.everything,
        notice=notice[:300] if notice else None,
        problem=problem,
    )


def register(router: APIRouter) -> None:
    @router.get("/alliances/{alliance_id}/editor")
    def editor_index(visit: VisitDep, alliance_id: IdPath) -> Response:
        return _index(visit, alliance_id)

    @router.post("/alliances/{alliance_id}/editor")
    def start_draft(visit: VisitDep, alliance_id: IdPath, form: SignedInForm) -> Response:
        return _start_draft(visit, alliance_id, form)

    @router.post("/alliances/{alliance_id}/editor/cycles")
    def start_cycle(visit: VisitDep, alliance_id: IdPath, form: SignedInForm) -> Response:
        return _start_cycle(visit, alliance_id, form)

    @router.get("/alliances/{alliance_id}/editor/{draft_id}")
    def edit(visit: VisitDep, alliance_id: IdPath, draft_id: IdPath) -> Response:
        session = EditorSession.open(visit, alliance_id, draft_id)
        notice = visit.request.query_params.get("done")
        return render_editor(session, notice=notice[:300] if notice else None)

    @router.post("/alliances/{alliance_id}/editor/{draft_id}")
    def submit(
        visit: VisitDep, alliance_id: IdPath, draft_id: IdPath, form: SignedInForm
    ) -> Response:
        return _submit(visit, alliance_id, draft_id, form)

    @router.post("/alliances/{alliance_id}/editor/{draft_id}/check")
    def live_check(
        visit: VisitDep, alliance_id: IdPath, draft_id: IdPath, form: SignedInForm
    ) -> Response:
        session = EditorSession.open(visit, alliance_id, draft_id)
        source = visit.request.headers.get("x-editor-source")
        session.take(form, source="yaml" if source == "yaml" else None, op="refresh")
        return secure(JSONResponse(render_parts(session, with_text=source != "yaml")))

    @router.get("/alliances/{alliance_id}/editor/{draft_id}/download")
    def download(visit: VisitDep, alliance_id: IdPath, draft_id: IdPath) -> Response:
        session = EditorSession.open(visit, alliance_id, draft_id)
        name = session.draft.key if session.draft.key.isascii() else "template"
        response = Response(
            session.draft.text,
            media_type="application/yaml; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{quote(name)}.yaml"'},
        )
        return visit.finish(response)

    @router.post("/alliances/{alliance_id}/editor/{draft_id}/import")
    async def import_file(
        visit: VisitDep, alliance_id: IdPath, draft_id: IdPath, form: SignedInForm
    ) -> Response:
        return await _import(visit, alliance_id, draft_id, form)

    @router.post("/alliances/{alliance_id}/editor/{draft_id}/discard")
    def discard(
        visit: VisitDep, alliance_id: IdPath, draft_id: IdPath, form: SignedInForm
    ) -> Response:
        viewer = visit.require_viewer()
        EditorSession.open(visit, alliance_id, draft_id)
        visit.engine.drafts.discard(
            draft_id,
            revision=_revision(form),
            actor=viewer.actor(alliance_id),
            reach=viewer.reach,
        )
        done = quote(visit.words.gettext("Draft discarded."))
        return visit.redirect(visit.url(f"/alliances/{alliance_id}/editor?done={done}"))

    @router.get("/alliances/{alliance_id}/editor/{draft_id}/publish")
    def publish_preview(
        visit: VisitDep,
        alliance_id: IdPath,
        draft_id: IdPath,
        problem: Annotated[str, Query(max_length=300)] = "",
    ) -> Response:
        return _preview(visit, alliance_id, draft_id, problem or None)

    @router.post("/alliances/{alliance_id}/editor/{draft_id}/publish")
    def publish(
        visit: VisitDep, alliance_id: IdPath, draft_id: IdPath, form: SignedInForm
    ) -> Response:
        return _publish(visit, alliance_id, draft_id, form)


def _submit(visit: Visit, alliance_id: int, draft_id: int, form: dict[str, str]) -> Response:
    """A button of the editor: change the form, apply the text, save, or save and publish."""
    session = EditorSession.open(visit, alliance_id, draft_id)
    op = form.get("op", "refresh")
    session.take(form, source="yaml" if op == "apply-yaml" else None, op=op)
    if op not in ("save", "publish"):
        return render_editor(session)
    try:
        session.save(_revision(form))
    except DraftConflict as conflict:
        return render_editor(session, problem=str(conflict), status=409)
    except InvalidInput as refused:
        return render_editor(session, problem=str(refused), status=422)
    if op == "publish":
        return visit.redirect(_base(visit, alliance_id, draft_id) + "/publish")
    done = quote(
        visit.words.gettext("Saved revision %(revision)s.", revision=session.draft.revision)
    )
    return visit.redirect(_base(visit, alliance_id, draft_id) + f"?done={done}")


async def _import(visit: Visit, alliance_id: int, draft_id: int, form: dict[str, str]) -> Response:
    """A YAML file into the editor (not saved: the coordinator checks it, then saves)."""
    upload = (await visit.request.form()).get("file")
    words = visit.words
    text, problem, data = None, words.gettext("choose a file to import"), None
    if isinstance(upload, UploadFile):
        try:
            data = await upload.read(MAX_TEMPLATE_BYTES + 1) if upload.filename else None
        finally:
            await upload.close()
    if data is not None:
        if len(data) > MAX_TEMPLATE_BYTES:
            problem = words.gettext(
                "the file is larger than %(size)s KiB", size=MAX_TEMPLATE_BYTES // 1024
            )
        else:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                problem = words.gettext("the file is not UTF-8 text")

    def render() -> Response:
        session = EditorSession.open(visit, alliance_id, draft_id)
        if text is None:
            refused = words.gettext("Not imported: %(problem)s.", problem=problem)
            return render_editor(session, problem=refused, status=422)
        session.take({**form, "yaml": text}, source="yaml", op="refresh")
        notice = words.gettext(
            "Imported into the editor (not saved yet): check it, then save the draft."
        )
        return render_editor(session, notice=notice)

    return await run_in_threadpool(render)


def _publish(visit: Visit, alliance_id: int, draft_id: int, form: dict[str, str]) -> Response:
    viewer = visit.require_viewer()
    EditorSession.open(visit, alliance_id, draft_id)
    try:
        published = visit.engine.drafts.publish(
            draft_id,
            revision=_revision(form),
            actor=viewer.actor(alliance_id),
            reach=viewer.reach,
        )
    except InvalidTemplate as invalid:
        words = "\n".join(problem_text(p, visit.language) for p in invalid.problems)
        return _preview(visit, alliance_id, draft_id, words, status=409)
    except (DraftConflict, InvalidInput) as refused:
        return _preview(visit, alliance_id, draft_id, str(refused), status=409)
    done = visit.words.gettext(
        "Published %(key)s v%(version)s.", key=published.key, version=published.version
    )
    url = f"/alliances/{alliance_id}/editor?done={quote(done)}&published={quote(published.key)}"
    return visit.redirect(visit.url(url))


def _start_draft(visit: Visit, alliance_id: int, form: dict[str, str]) -> Response:
    viewer = visit.require_viewer()
    try:
        draft = visit.engine.drafts.start(
            alliance_id=None if form.get("builtin") == "on" else alliance_id,
            key=form.get("key", "").strip(),
            from_key=form.get("from_key", "").strip() or None,
            actor=viewer.actor(alliance_id),
            reach=viewer.reach,
        )
    except InvalidInput as refused:
        return _index(visit, alliance_id, problem=str(refused))
    return visit.redirect(_base(visit, alliance_id, draft.id))


def _start_cycle(visit: Visit, alliance_id: int, form: dict[str, str]) -> Response:
    """Start a cycle on a published template: the alliance's coordinators only, as over the
    API (out of reach: 404; seen but not coordinated: 403)."""
    viewer = visit.require_viewer()
    visit.engine.alliances.get_alliance(alliance_id, reach=viewer.reach)
    if not viewer.coordinates(alliance_id):
        raise NotPermitted("start a cycle", "only the alliance's coordinators start cycles")
    try:
        cycle = visit.engine.cycles.start_cycle(
            form.get("key", "").strip(),
            form.get("title", "").strip(),
            alliance_id=alliance_id,
            actor=viewer.actor(alliance_id),
            reach=viewer.reach,
        )
    except InvalidInput as refused:
        return _index(visit, alliance_id, problem=str(refused))
    return visit.redirect(visit.url(f"/cycles/{cycle.id}"))


def _preview(
    visit: Visit, alliance_id: int, draft_id: int, problem: str | None, status: int = 200
) -> Response:
    viewer = visit.require_viewer()
    session = EditorSession.open(visit, alliance_id, draft_id)
    preview = visit.engine.drafts.publish_preview(
        draft_id, actor=viewer.actor(alliance_id), reach=viewer.reach
    )
    return visit.page(
        "editor/publish.html",
        status=status if problem else 200,
        alliance=session.alliance,
        draft=session.draft,
        preview=replace(preview, problems=in_language(preview.problems, visit.language)),
        base=_base(visit, alliance_id, draft_id),
        problem=problem,
    )
