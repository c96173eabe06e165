"""Pages behind the links in emails: actions, preferences, one-click unsubscribe, calendar feed.

No API key here: the signed token in the link is the credential (see `notifications.links`).
Every GET only shows a page (mail scanners fetch links); POSTs act. Pages are sent with
`Cache-Control: no-store` and `Referrer-Policy: no-referrer`, since their URLs carry tokens.

    GET  /email/actions/level?t=...             the stages, a level choice each (partners)
    POST /email/actions/level                   propose the chosen levels once (t, level.<stage>)
    GET  /email/actions/{action}?t=...          confirmation page
    POST /email/actions/{action}                act once (form: t + the action's fields)
    POST /email/actions/{action}/refresh        expired link: email a fresh one
    GET  /email/preferences?t=...               the person's notification choices
    POST /email/preferences                     save them
    GET  /email/unsubscribe?t=...               confirmation page
    POST /email/unsubscribe?t=...               RFC 8058 one-click unsubscribe
    GET  /email/calendar/{token}.ics            the person's deadlines in their zone (RFC 5545)

Build with `email_actions_router()`; the app includes it at the root (not under /api/v1). Forms
are read by an async dependency; every handler is a plain `def`, so the engine's database work
runs in the threadpool, never on the event loop.
The pages use the app's `settings.secret_key` and `settings.base_url`, the same values the
outbox sender must sign with (`notifications.service.build_outbox_sender`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from cycle_engine.api.deps import EngineDep
from cycle_engine.api.fields import refuse_unstorable
from cycle_engine.engine import CycleEngine
from cycle_engine.errors import CycleEngineError, InvalidInput, InvalidLink
from cycle_engine.i18n import accepted_language
from cycle_engine.notifications.actions import ActionView, EmailActions
from cycle_engine.notifications.ics import calendar, stage_entry
from cycle_engine.notifications.level_page import LevelPage, LevelView
from cycle_engine.notifications.links import LinkSigner
from cycle_engine.notifications.reader import N_
from cycle_engine.notifications.render import Renderer
from cycle_engine.outbox.preferences import OPTIONAL_KINDS

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "X-Content-Type-Options": "nosniff",
}
#: English msgids (the pages translate them into the person's language).
KIND_TITLES = {
    "reminder": N_("Reminders"),
    "due_today": N_("Due-today notices"),
    "overdue": N_("Overdue notices"),
    "escalation": N_("Escalations"),
    "stage_started": N_("Stage started"),
    "stage_completed": N_("Stage results"),
    "stage_results": N_("Shared results (products, context results)"),
    "stalled": N_("Stall alerts"),
    "extension_requested": N_("Extension requests"),
    "marked_done": N_("Steps marked done"),
    "digest": N_("Daily summaries"),
}
TokenQuery = Annotated[str, Query(alias="t", max_length=2000)]


def get_links(request: Request, engine: EngineDep) -> LinkSigner:
    """The app's link signer: its secret and base URL, the engine's clock (built once)."""
    links: LinkSigner | None = getattr(request.app.state, "email_links", None)
    if links is None:
        settings = request.app.state.settings
        links = LinkSigner(settings.secret_key, settings.base_url, engine.clock)
        request.app.state.email_links = links
    return links


LinksDep = Annotated[LinkSigner, Depends(get_links)]


def get_pages(request: Request) -> Renderer:
    """The renderer of these pages (one per app)."""
    pages: Renderer | None = getattr(request.app.state, "email_pages", None)
    if pages is None:
        pages = Renderer()
        request.app.state.email_pages = pages
    return pages


PagesDep = Annotated[Renderer, Depends(get_pages)]


async def read_form(request: Request) -> FormData:
    """The POSTed form (read on the event loop, so the handler can be a plain `def`); a value
    no database stores (a NUL character) is refused (422)."""
    form = await request.form()
    for name, value in form.multi_items():
        if isinstance(value, str):
            refuse_unstorable(name, value)
    return form


FormDep = Annotated[FormData, Depends(read_form)]


def _page(pages: Renderer, template: str, status: int = 200, **context: object) -> HTMLResponse:
    return HTMLResponse(pages.page(template, **context), status_code=status, headers=PAGE_HEADERS)


def browser_language(request: Request) -> str:
    """The language the browser asks for, for a page whose link names nobody."""
    return accepted_language(request.headers.get("accept-language"))


def _action_page(
    request: Request, pages: Renderer, links: LinkSigner, action: str, view: ActionView
) -> HTMLResponse:
    """The action page in the language of the person the link was made for (else the
    browser's)."""
    return _page(
        pages,
        "action",
        view.status_code,
        view=view,
        language=view.language or browser_language(request),
        post_url=f"{links.base_url}/email/actions/{action}",
        refresh_url=f"{links.base_url}/email/actions/{action}/refresh",
    )


def confirm_action(
    request: Request,
    action: str,
    t: TokenQuery,
    engine: EngineDep,
    links: LinksDep,
    pages: PagesDep,
) -> HTMLResponse:
    """Show what the link would do; changes nothing."""
    view = EmailActions(engine, links).inspect(action, t)
    return _action_page(request, pages, links, action, view)


def perform_action(
    request: Request,
    action: str,
    form: FormDep,
    engine: EngineDep,
    links: LinksDep,
    pages: PagesDep,
) -> HTMLResponse:
    """Act once; a replay says it was already done."""
    fields = {k: v for k, v in form.items() if k != "t" and isinstance(v, str)}
    view = EmailActions(engine, links).perform(action, str(form.get("t", "")), fields)
    return _action_page(request, pages, links, action, view)


def refresh_action(
    request: Request,
    action: str,
    form: FormDep,
    engine: EngineDep,
    links: LinksDep,
    pages: PagesDep,
) -> HTMLResponse:
    """An expired link: email its person a fresh one."""
    view = EmailActions(engine, links).refresh(action, str(form.get("t", "")))
    return _action_page(request, pages, links, action, view)


def _level_page(pages: Renderer, links: LinkSigner, view: LevelView) -> HTMLResponse:
    return _page(
        pages,
        "levels",
        view.status_code,
        view=view,
        language=view.language,
        post_url=f"{links.base_url}/email/actions/level",
    )


def show_levels(t: TokenQuery, engine: EngineDep, links: LinksDep, pages: PagesDep) -> HTMLResponse:
    """The stages and a level choice each; changes nothing."""
    return _level_page(pages, links, LevelPage(engine, links).inspect(t))


def propose_levels(
    form: FormDep, engine: EngineDep, links: LinksDep, pages: PagesDep
) -> HTMLResponse:
    """Propose the chosen levels once; a replay says it was already done."""
    fields = {k: v for k, v in form.items() if k != "t" and isinstance(v, str)}
    view = LevelPage(engine, links).perform(str(form.get("t", "")), fields)
    return _level_page(pages, links, view)


def _preferences_page(
    pages: Renderer,
    engine: CycleEngine,
    links: LinkSigner,
    token: str,
    *,
    status: int = 200,
    error: str = "",
    saved: bool = False,
) -> HTMLResponse:
    try:
        person_id, _ = links.read_person("preferences", token)
        prefs = engine.outbox.notification_preferences(person_id)
        person = engine.alliances.get_person(person_id)
    except CycleEngineError as problem:
        return _page(
            pages, "preferences", 400, prefs=None, message=str(problem), error="", saved=False
        )
    return _page(
        pages,
        "preferences",
        status,
        prefs=prefs,
        token=token,
        person_name=person.name,
        timezone=person.timezone,
        language=person.language,
        error=error,
        saved=saved,
        kinds=[(k, KIND_TITLES[k]) for k in OPTIONAL_KINDS],
        post_url=f"{links.base_url}/email/preferences",
    )


def show_preferences(
    t: TokenQuery, engine: EngineDep, links: LinksDep, pages: PagesDep
) -> HTMLResponse:
    """The person's notification choices."""
    return _preferences_page(pages, engine, links, t)


def save_preferences(
    form: FormDep, engine: EngineDep, links: LinksDep, pages: PagesDep
) -> HTMLResponse:
    """Save the person's notification choices (waiting emails follow them)."""
    token = str(form.get("t", ""))
    try:
        person_id, _ = links.read_person("preferences", token)
        hour_text = str(form.get("digest_hour", "8"))
        if not hour_text.isdigit():
            raise InvalidInput("digest_hour", f"must be an hour 0-23, got {hour_text!r}")
        receive = {str(v) for v in form.getlist("receive")}
        engine.outbox.set_notification_preferences(
            person_id,
            mode=str(form.get("mode", "immediate")),
            digest_hour=int(hour_text),
            unsubscribed=[k for k in OPTIONAL_KINDS if k not in receive],
        )
    except InvalidLink as problem:
        return _page(
            pages, "preferences", 400, prefs=None, message=problem.message, error="", saved=False
        )
    except CycleEngineError as problem:
        return _preferences_page(pages, engine, links, token, status=422, error=str(problem))
    return _preferences_page(pages, engine, links, token, saved=True)


def _unsubscribe_target(links: LinkSigner, token: str) -> tuple[int, str]:
    person_id, kind = links.read_person("unsubscribe", token)
    if kind not in OPTIONAL_KINDS:
        raise InvalidLink(f"unknown email kind {kind!r}")
    return person_id, kind


def confirm_unsubscribe(
    t: TokenQuery, engine: EngineDep, links: LinksDep, pages: PagesDep
) -> HTMLResponse:
    """Ask before unsubscribing (a scanner's GET changes nothing)."""
    try:
        person_id, kind = _unsubscribe_target(links, t)
        person = engine.alliances.get_person(person_id)
    except CycleEngineError as problem:
        return _page(pages, "unsubscribe", 400, state="invalid", message=str(problem))
    return _page(
        pages,
        "unsubscribe",
        state="confirm",
        kind_title=KIND_TITLES[kind],
        person_name=person.name,
        language=person.language,
        post_url=links.unsubscribe_url(person_id, kind),
        preferences_url=links.preferences_url(person_id),
    )


def one_click_unsubscribe(
    t: TokenQuery, engine: EngineDep, links: LinksDep, pages: PagesDep
) -> HTMLResponse:
    """RFC 8058 one-click unsubscribe (body `List-Unsubscribe=One-Click`), or the page's button."""
    try:
        person_id, kind = _unsubscribe_target(links, t)
        engine.outbox.unsubscribe(person_id, [kind])
    except CycleEngineError as problem:
        return _page(pages, "unsubscribe", 400, state="invalid", message=str(problem))
    return _page(
        pages,
        "unsubscribe",
        state="done",
        kind_title=KIND_TITLES[kind],
        preferences_url=links.preferences_url(person_id),
    )


def calendar_feed(token: str, engine: EngineDep, links: LinksDep) -> Response:
    """The person's upcoming deadlines as an iCalendar feed."""
    try:
        person_id, _ = links.read_person("calendar", token)
        deadlines = engine.outbox.upcoming_deadlines(person_id)
        timezone = engine.alliances.get_person(person_id).timezone
    except CycleEngineError as problem:
        return Response(
            f"{problem}\n", status_code=404, media_type="text/plain", headers=PAGE_HEADERS
        )
    entries = [
        stage_entry(
            d.cycle_id, d.cycle_title, d.stage_title, d.stage_visit_id, d.due_at, timezone=timezone
        )
        for d in deadlines
    ]
    body = calendar(entries, engine.clock.now(), name="Learning cycle deadlines")
    return Response(body, media_type="text/calendar; charset=utf-8", headers=PAGE_HEADERS)


def email_actions_router() -> APIRouter:
    """The router for email links; include it without a prefix (paths start with /email)."""
    router = APIRouter(prefix="/email", tags=["email links"], include_in_schema=False)
    routes: list[tuple[str, Callable[..., Any], str]] = [
        ("/actions/level", show_levels, "GET"),  # before /actions/{action}, which it shadows
        ("/actions/level", propose_levels, "POST"),
        ("/actions/{action}", confirm_action, "GET"),
        ("/actions/{action}", perform_action, "POST"),
        ("/actions/{action}/refresh", refresh_action, "POST"),
        ("/preferences", show_preferences, "GET"),
        ("/preferences", save_preferences, "POST"),
        ("/unsubscribe", confirm_unsubscribe, "GET"),
        ("/unsubscribe", one_click_unsubscribe, "POST"),
        ("/calendar/{token}.ics", calendar_feed, "GET"),
    ]
    for path, endpoint, method in routes:
        router.add_api_route(path, endpoint, methods=[method])
    return router
