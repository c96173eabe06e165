"""The request plumbing every dashboard page shares: who is visiting, rendering, errors.

`Visit` (a dependency) reads the session or visitor cookie, loads the signed-in person's access
(`api.access`, the API's reach model), and renders pages with the CSRF token and the viewer's
time zone in the context. `SignedInForm` / `VisitorForm` read a POSTed form after checking its
CSRF token, so every page handler is a plain `def` and its database work runs in the threadpool.
Routes use `DashboardRoute`, which turns the engine's refusals into HTML pages (404 for anything
outside the viewer's reach, as in the API) and an anonymous visit to a private page into a
redirect to the sign-in form; the API's JSON problem answers stay the API's.

Every link, form action, asset and redirect is built from `dashboard_path(request, ...)` (in
templates: `prefix`), which starts with the ASGI `root_path`: mounted by a host under `/ce`, the
dashboard's links start with `/ce/dashboard/`.

Pages speak the reader's language (`language_of`): a choice made with the language switch
(`?lang=es`, remembered in a cookie), else the signed-in person's preference, else the browser's
`Accept-Language`; English by default. Python texts a page shows go through `visit.words`.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from starlette.responses import HTMLResponse, RedirectResponse, Response

from cycle_engine.api.access import Viewer, load_viewer
from cycle_engine.api.dashboard.csrf import CsrfRefused, check_csrf, csrf_token
from cycle_engine.api.dashboard.formatting import build_environment, word_in
from cycle_engine.api.dashboard.sessions import (
    SEEN_RESOLUTION,
    SESSION_COOKIE,
    SESSION_LIFETIME,
    VISITOR_COOKIE,
    VISITOR_LIFETIME,
    CookieSettings,
)
from cycle_engine.api.deps import EngineDep, SettingsDep
from cycle_engine.api.fields import refuse_unstorable
from cycle_engine.api.settings import Settings
from cycle_engine.engine import CycleEngine
from cycle_engine.errors import (
    CycleEngineError,
    InputConflict,
    InvalidInput,
    NotFound,
    NotPermitted,
)
from cycle_engine.i18n import LANGUAGES, accepted_language, pick_language
from cycle_engine.logs import request_id
from cycle_engine.notifications.reader import LANGUAGE_NAMES, N_, Words, speaking

PREFIX = "/dashboard"
TEMPLATES = Path(__file__).with_name("templates")
#: What the dashboard's pages may load: their own scripts (the vendored htmx) and stylesheet,
#: nothing inline, no plugins, no framing; forms and htmx requests go back to the app.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_log = logging.getLogger("cycle_engine.dashboard")
R = TypeVar("R", bound=Response)
_STYLE_BLOCK = re.compile(r"<style[^>]*>(.*?)</style>", re.DOTALL | re.IGNORECASE)
_ENV = build_environment(TEMPLATES)
LOCALE = Path(__file__).with_name("locale")
DOMAIN = "dashboard"
#: The language switch's choice (plain, not signed: it only picks words).
LANGUAGE_COOKIE = "ce_lang"
LANGUAGE_LIFETIME = timedelta(days=365)


def language_of(request: Request, preference: str | None = None) -> tuple[str, bool]:
    """The language of the page for `request`, and whether `?lang=` chose it just now.

    The switch (`?lang=`, then its cookie) overrides the person's `preference`, which
    overrides the browser's `Accept-Language`."""
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return str(asked), True
    remembered = request.cookies.get(LANGUAGE_COOKIE)
    if remembered in LANGUAGES:
        return str(remembered), False
    preferred = pick_language(preference) if preference in LANGUAGES else None
    return preferred or accepted_language(request.headers.get("accept-language")), False


def words_for(language: str) -> Words:
    """The dashboard's words in `language`."""
    return Words.of(LOCALE, DOMAIN, language)


def language_links(request: Request, current: str) -> list[dict[str, str | bool]]:
    """The language switch: this page in each language (its other query parameters kept); a
    page answering a form (a POST) links to the dashboard's home instead, which a GET reaches."""
    links: list[dict[str, str | bool]] = []
    for code in LANGUAGES:
        if request.method in ("GET", "HEAD"):
            url = request.url.include_query_params(lang=code)
            target = f"{url.path}?{url.query}"
        else:
            target = f"{dashboard_path(request, '/')}?lang={code}"
        links.append(
            {"code": code, "name": LANGUAGE_NAMES[code], "url": target, "current": code == current}
        )
    return links


def dashboard_path(request: Request, path: str = "/") -> str:
    """The path of a dashboard page as the browser sees it: mount prefix, `/dashboard`, `path`."""
    root = str(request.scope.get("root_path", "")).rstrip("/")
    return f"{root}{PREFIX}{path}"


def engine_public_url(base_url: str, request: Request) -> str:
    """The engine app's public URL, for links in emails: `base_url`, which should carry the
    mount prefix (`https://host.example.org/ce`); when it does not, the prefix is added."""
    base = base_url.rstrip("/")
    root = str(request.scope.get("root_path", "")).rstrip("/")
    if root and not urlsplit(base).path.endswith(root):
        return base + root
    return base


class SignInRequired(Exception):
    """The page needs a signed-in person."""


@dataclass(kw_only=True)
class Visit:
    """One request to the dashboard: the engine, the cookies, and the person (if signed in)."""

    request: Request
    engine: CycleEngine
    settings: Settings
    cookies: CookieSettings
    session_key: str | None = None
    viewer: Viewer | None = None
    visitor_nonce: str | None = None
    fresh_visitor: bool = False
    extra_cookies: list[tuple[str, str | None]] = field(default_factory=list)
    language: str = "en"
    language_chosen: bool = False

    @property
    def words(self) -> Words:
        """The page's words (`visit.words.gettext(...)` for texts Python builds)."""
        return words_for(self.language)

    @property
    def now(self) -> datetime:
        return self.engine.clock.now()

    @property
    def binding(self) -> str | None:
        return self.session_key or self.visitor_nonce

    @property
    def csrf(self) -> str:
        binding = self.binding
        assert binding is not None
        return csrf_token(self.settings.secret_key, binding)

    @property
    def timezone(self) -> str:
        return self.viewer.timezone if self.viewer else self.settings.default_timezone

    @property
    def prefix(self) -> str:
        """Where the dashboard lives for this request (`/dashboard`, or `/ce/dashboard`)."""
        return dashboard_path(self.request, "")

    @property
    def public_url(self) -> str:
        """The engine app's public URL, for links in emails (see `engine_public_url`)."""
        return engine_public_url(self.settings.base_url, self.request)

    def url(self, path: str = "/") -> str:
        """The path of the dashboard page `path` (e.g. "/cycles/3"), mount prefix included."""
        return dashboard_path(self.request, path)

    def require_viewer(self) -> Viewer:
        if self.viewer is None:
            raise SignInRequired()
        return self.viewer

    def page(self, template: str, status: int = 200, **context: Any) -> Response:
        """Render `template` with the shared context (viewer, CSRF token, time zone, now), in
        the visit's language."""
        return self.finish(HTMLResponse(self.render(template, **context), status_code=status))

    def render(self, template: str, **context: Any) -> str:
        """`template` (a page or a part of one) as HTML in the visit's language."""
        with speaking(self.words):
            return _ENV.get_template(template).render(
                visit=self,
                viewer=self.viewer,
                csrf=self.csrf,
                tz=self.timezone,
                now=self.now,
                prefix=self.prefix,
                path=self.request.url.path,
                language=self.language,
                language_switch=language_links(self.request, self.language),
                **context,
            )

    def redirect(self, url: str) -> Response:
        """A 303 to `url`, which the caller builds with `visit.url(...)`."""
        return self.finish(RedirectResponse(url, status_code=303))

    def finish(self, response: Response) -> Response:
        """Set the cookies this visit decided on; never cache a personal page."""
        path = self.prefix or "/"  # the dashboard's cookies stay under its mount prefix
        if self.language_chosen:
            response.set_cookie(
                LANGUAGE_COOKIE,
                self.language,
                max_age=int(LANGUAGE_LIFETIME.total_seconds()),
                path=path,
                httponly=True,
                samesite="lax",
                secure=self.cookies.secure,
            )
        if self.fresh_visitor and self.visitor_nonce:
            self.cookies.set(
                response, VISITOR_COOKIE, self.visitor_nonce, VISITOR_LIFETIME, path=path
            )
        for name, value in self.extra_cookies:
            if value is None:
                self.cookies.clear(response, name, path=path)
            else:
                self.cookies.set(response, name, value, SESSION_LIFETIME, path=path)
        return secure(response)


def refusal_status(error: CycleEngineError) -> int:
    """The status of a page re-rendered with the engine's refusal: what the API answers for
    the same error (`api.problems`), so the dashboard and the API refuse alike."""
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, NotPermitted):
        return 403
    if isinstance(error, InvalidInput) and not isinstance(error, InputConflict):
        return 422
    return 409


def inline_style_hashes(html: str) -> tuple[str, ...]:
    """The CSP hashes (base64 SHA-256) of the `<style>` elements of a generated document."""
    return tuple(
        base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
        for block in _STYLE_BLOCK.findall(html)
    )


def secure(response: R, *, style_hashes: tuple[str, ...] = ()) -> R:
    """`response` with the dashboard's headers: the Content-Security-Policy (allowing the inline
    styles whose SHA-256 `style_hashes` a generated document carries), no caching, no framing."""
    policy = CONTENT_SECURITY_POLICY
    if style_hashes:
        allowed = " ".join(f"'sha256-{h}'" for h in style_hashes)
        policy = policy.replace("style-src 'self'", f"style-src 'self' {allowed}")
    response.headers.setdefault("Content-Security-Policy", policy)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def get_visit(request: Request, engine: EngineDep, settings: SettingsDep) -> Visit:
    """The visit (a plain `def`: finding the session reads the database, in the threadpool)."""
    cookies = CookieSettings.for_base_url(settings.secret_key, settings.base_url)
    visit = Visit(request=request, engine=engine, settings=settings, cookies=cookies)
    key = cookies.unsign(SESSION_COOKIE, request.cookies.get(SESSION_COOKIE))
    if key is not None:
        record = engine.alliances.credentials.live_session(key, seen_resolution=SEEN_RESOLUTION)
        if record is not None:
            visit.viewer = load_viewer(engine, record.person_id)
            if visit.viewer is not None:
                visit.session_key = key
    if visit.session_key is None:
        nonce = cookies.unsign(VISITOR_COOKIE, request.cookies.get(VISITOR_COOKIE))
        if nonce is None:
            nonce, visit.fresh_visitor = secrets.token_urlsafe(24), True
        visit.visitor_nonce = nonce
    preference = visit.viewer.language if visit.viewer else None
    visit.language, visit.language_chosen = language_of(request, preference)
    return visit


VisitDep = Annotated[Visit, Depends(get_visit)]


async def visitor_form(visit: VisitDep) -> dict[str, str]:
    """A POSTed form whose CSRF token matches the visit (signed in or not), as plain strings.

    Read here, on the event loop, so the page handlers are plain `def`s (the threadpool).
    Raises CsrfRefused (a 403 page).
    """
    await check_csrf(visit.request, visit.settings.secret_key, visit.binding)
    form = await visit.request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    for name, value in fields.items():
        refuse_unstorable(name, value)
    return fields


async def signed_in_form(visit: VisitDep) -> dict[str, str]:
    """Like `visitor_form`, for a signed-in person only (else the sign-in redirect)."""
    visit.require_viewer()
    return await visitor_form(visit)


VisitorForm = Annotated[dict[str, str], Depends(visitor_form)]
SignedInForm = Annotated[dict[str, str], Depends(signed_in_form)]


def _error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    """An error page in the language of the request (the switch's choice or the browser's);
    `title` is an English msgid, translated here."""
    language, _ = language_of(request)
    words = words_for(language)
    with speaking(words):
        html = _ENV.get_template("error.html").render(
            visit=None,
            viewer=None,
            csrf="",
            tz="UTC",
            now=None,
            prefix=dashboard_path(request, ""),
            path=request.url.path,
            language=language,
            language_switch=language_links(request, language),
            title=words.gettext(title),
            message=message,
            status=status,
            request_id=request_id(),
        )
    return secure(HTMLResponse(html, status_code=status))


class DashboardRoute(APIRoute):
    """An APIRoute whose refusals are HTML pages instead of the API's JSON problems."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except SignInRequired:
                target = quote(
                    request.url.path + (f"?{request.url.query}" if request.url.query else ""),
                    safe="",
                )
                return RedirectResponse(
                    dashboard_path(request, f"/signin?next={target}"), status_code=303
                )
            except CsrfRefused as error:
                return _error_page(request, 403, N_("Form expired"), str(error))
            except NotFound as error:
                words = words_for(language_of(request)[0])
                return _error_page(
                    request,
                    404,
                    N_("Not found"),
                    words.gettext(
                        "There is no %(kind)s %(ident)s that you can see.",
                        kind=word_in(error.kind, words),
                        ident=error.ident,
                    ),
                )
            except InvalidInput as error:
                return _error_page(request, 422, N_("Invalid input"), str(error))
            except NotPermitted as error:
                return _error_page(request, 403, N_("Not allowed"), str(error))
            except CycleEngineError as error:
                return _error_page(request, 409, N_("Not possible now"), str(error))

        return handler
