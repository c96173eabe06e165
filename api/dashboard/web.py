"""The request plumbing every dashboard page shares: who is visiting, rendering, errors.

`Visit` (a dependency) reads the session or visitor cookie, loads the signed-in person's reach,
and renders pages with the CSRF token and the viewer's time zone in the context. Routes use
`DashboardRoute`, which turns the engine's refusals into HTML pages (404 for anything outside
the viewer's reach, as in the API) and an anonymous visit to a private page into a redirect to
the sign-in form; the API's JSON problem answers stay the API's.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from starlette.responses import HTMLResponse, RedirectResponse, Response

from cycle_engine.api.dashboard.access import Viewer, load_viewer
from cycle_engine.api.dashboard.csrf import CsrfRefused, check_csrf, csrf_token
from cycle_engine.api.dashboard.formatting import build_environment
from cycle_engine.api.dashboard.sessions import (
    SESSION_COOKIE,
    SESSION_LIFETIME,
    VISITOR_COOKIE,
    VISITOR_LIFETIME,
    CookieSettings,
    find_session,
)
from cycle_engine.api.deps import EngineDep, SettingsDep
from cycle_engine.api.settings import Settings
from cycle_engine.engine import CycleEngine
from cycle_engine.errors import CycleEngineError, InvalidInput, NotFound

PREFIX = "/dashboard"
TEMPLATES = Path(__file__).with_name("templates")
_log = logging.getLogger("cycle_engine.dashboard")
_ENV = build_environment(TEMPLATES)


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

    def require_viewer(self) -> Viewer:
        if self.viewer is None:
            raise SignInRequired()
        return self.viewer

    async def check_csrf(self) -> None:
        await check_csrf(self.request, self.settings.secret_key, self.binding)

    async def form(self) -> dict[str, str]:
        """The POSTed form as plain strings (files are not taken here)."""
        form = await self.request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}

    def page(self, template: str, status: int = 200, **context: Any) -> Response:
        """Render `template` with the shared context (viewer, CSRF token, time zone, now)."""
        html = _ENV.get_template(template).render(
            visit=self,
            viewer=self.viewer,
            csrf=self.csrf,
            tz=self.timezone,
            now=self.now,
            prefix=PREFIX,
            path=self.request.url.path,
            **context,
        )
        return self.finish(HTMLResponse(html, status_code=status))

    def redirect(self, url: str) -> Response:
        return self.finish(RedirectResponse(url, status_code=303))

    def finish(self, response: Response) -> Response:
        """Set the cookies this visit decided on; never cache a personal page."""
        if self.fresh_visitor and self.visitor_nonce:
            self.cookies.set(response, VISITOR_COOKIE, self.visitor_nonce, VISITOR_LIFETIME)
        for name, value in self.extra_cookies:
            if value is None:
                self.cookies.clear(response, name)
            else:
                self.cookies.set(response, name, value, SESSION_LIFETIME)
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response


def get_visit(request: Request, engine: EngineDep, settings: SettingsDep) -> Visit:
    cookies = CookieSettings.for_base_url(settings.secret_key, settings.base_url)
    visit = Visit(request=request, engine=engine, settings=settings, cookies=cookies)
    key = cookies.unsign(SESSION_COOKIE, request.cookies.get(SESSION_COOKIE))
    if key is not None:
        record = find_session(engine.db, engine.clock.now(), key)
        if record is not None:
            with engine.db.read_session() as session:
                visit.viewer = load_viewer(session, record.person_id)
            if visit.viewer is not None:
                visit.session_key = key
    if visit.session_key is None:
        nonce = cookies.unsign(VISITOR_COOKIE, request.cookies.get(VISITOR_COOKIE))
        if nonce is None:
            nonce, visit.fresh_visitor = secrets.token_urlsafe(24), True
        visit.visitor_nonce = nonce
    return visit


VisitDep = Annotated[Visit, Depends(get_visit)]


def _error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    html = _ENV.get_template("error.html").render(
        visit=None,
        viewer=None,
        csrf="",
        tz="UTC",
        now=None,
        prefix=PREFIX,
        path=request.url.path,
        title=title,
        message=message,
        status=status,
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


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
                return RedirectResponse(f"{PREFIX}/signin?next={target}", status_code=303)
            except CsrfRefused as error:
                return _error_page(request, 403, "Form expired", str(error))
            except NotFound as error:
                return _error_page(
                    request,
                    404,
                    "Not found",
                    f"There is no {error.kind} {error.ident} that you can see.",
                )
            except InvalidInput as error:
                return _error_page(request, 422, "Invalid input", str(error))
            except CycleEngineError as error:
                return _error_page(request, 409, "Not possible now", str(error))

        return handler
