"""Sign-in, sign-out, the home page and the dashboard's own static files.

GET  /dashboard/signin            the email form
POST /dashboard/signin            queue a sign-in email (same answer for unknown addresses)
GET  /dashboard/signin/confirm    the page a sign-in link opens: a "Sign in" button
POST /dashboard/signin/confirm    spend the link, start a session, go to the dashboard
POST /dashboard/signout           end the session
GET  /dashboard/                  the viewer's alliances (straight to the one, if only one)
GET  /dashboard/static/{file}     CSS and the vendored htmx, served by the app (no CDN)
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter, Query
from starlette.responses import FileResponse, Response

from cycle_engine.api.dashboard.access import visible_alliances
from cycle_engine.api.dashboard.sessions import (
    SESSION_COOKIE,
    VISITOR_COOKIE,
    end_session,
    start_session,
)
from cycle_engine.api.dashboard.signin import SignInRefused, request_link, use_token
from cycle_engine.api.dashboard.web import PREFIX, VisitDep
from cycle_engine.errors import NotFound

STATIC = Path(__file__).with_name("static")


def register(router: APIRouter) -> None:
    """Add the account routes to the dashboard router."""
    _register_signin(router)
    _register_pages(router)


def _register_signin(router: APIRouter) -> None:
    @router.get("/signin", name="dashboard_signin")
    async def signin_form(visit: VisitDep) -> Response:
        if visit.viewer is not None:
            return visit.redirect(f"{PREFIX}/")
        return visit.page("signin.html", sent=False, email="", problem=None)

    @router.post("/signin")
    async def signin_send(visit: VisitDep) -> Response:
        await visit.check_csrf()
        email = (await visit.form()).get("email", "").strip()
        if not email or "@" not in email or len(email) > 254:
            return visit.page(
                "signin.html",
                status=422,
                sent=False,
                email=email[:254],
                problem="Enter the email address you use in the alliance (like name@example.org).",
            )
        request_link(
            visit.engine.db,
            visit.engine.clock,
            secret=visit.settings.secret_key,
            base_url=visit.settings.base_url,
            email=email,
        )
        return visit.page("signin.html", sent=True, email=email, problem=None)

    @router.get("/signin/confirm")
    async def signin_confirm_page(
        visit: VisitDep, token: str = Query(default="", max_length=2000)
    ) -> Response:
        return visit.page(
            "signin_confirm.html",
            token=token,
            problem=None if token else "This sign-in link is incomplete.",
        )

    @router.post("/signin/confirm")
    async def signin_confirm(visit: VisitDep) -> Response:
        await visit.check_csrf()
        token = (await visit.form()).get("token", "")
        try:
            person = use_token(visit.engine.db, visit.settings.secret_key, token, visit.now)
        except SignInRefused as refused:
            return visit.page("signin_confirm.html", status=400, token="", problem=str(refused))
        assert person.id is not None
        if visit.session_key is not None:  # switching person on this browser: end the old one
            end_session(visit.engine.db, visit.now, visit.session_key)
        key = start_session(visit.engine.db, visit.engine.clock, person.id)
        visit.extra_cookies += [(SESSION_COOKIE, key), (VISITOR_COOKIE, None)]
        visit.fresh_visitor = False
        return visit.redirect(f"{PREFIX}/")

    @router.post("/signout")
    async def signout(visit: VisitDep) -> Response:
        await visit.check_csrf()
        if visit.session_key is not None:
            end_session(visit.engine.db, visit.now, visit.session_key)
        visit.extra_cookies.append((SESSION_COOKIE, None))
        return visit.redirect(f"{PREFIX}/signin")


def _register_pages(router: APIRouter) -> None:
    @router.get("/", name="dashboard_home")
    async def home(visit: VisitDep) -> Response:
        viewer = visit.require_viewer()
        with visit.engine.db.read_session() as session:
            alliances = visible_alliances(session, viewer)
        if len(alliances) == 1:
            return visit.redirect(f"{PREFIX}/alliances/{alliances[0].id}")
        return visit.page("home.html", alliances=alliances)

    @router.get("/static/{name:path}", include_in_schema=False)
    async def static(name: str) -> Response:
        path = (STATIC / name).resolve()
        if not path.is_file() or STATIC.resolve() not in path.parents:
            raise NotFound("file", name)
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return FileResponse(
            path, media_type=media_type, headers={"Cache-Control": "public, max-age=3600"}
        )
