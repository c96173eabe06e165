"""Sign-in, sign-out, the home page and the dashboard's own static files.

GET  /dashboard/signin            the email form
POST /dashboard/signin            queue a sign-in email (same answer for unknown addresses)
GET  /dashboard/signin/confirm    the page a sign-in link opens: a "Sign in" button
POST /dashboard/signin/confirm    spend the link, start a session, go to the dashboard
POST /dashboard/signout           end the session
GET  /dashboard/                  the viewer's alliances (straight to the one, if only one)
GET  /dashboard/static/{file}     CSS and the vendored htmx, served by the app (no CDN)

Sessions and used links are the engine's credentials (`engine.alliances.credentials`); every
handler is a plain `def` (forms are read by `VisitorForm`, after their CSRF check).
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter, Query
from starlette.responses import FileResponse, Response

from cycle_engine.api.dashboard.sessions import SESSION_COOKIE, SESSION_LIFETIME, VISITOR_COOKIE
from cycle_engine.api.dashboard.signin import SignInRefused, request_link, use_token
from cycle_engine.api.dashboard.web import VisitDep, VisitorForm
from cycle_engine.errors import NotFound

STATIC = Path(__file__).with_name("static")


def register(router: APIRouter) -> None:
    """Add the account routes to the dashboard router."""
    _register_signin(router)
    _register_pages(router)


def _register_signin(router: APIRouter) -> None:
    @router.get("/signin", name="dashboard_signin")
    def signin_form(visit: VisitDep) -> Response:
        if visit.viewer is not None:
            return visit.redirect(visit.url("/"))
        return visit.page("signin.html", sent=False, email="", problem=None)

    @router.post("/signin")
    def signin_send(visit: VisitDep, form: VisitorForm) -> Response:
        email = form.get("email", "").strip()
        if not email or "@" not in email or len(email) > 254:
            return visit.page(
                "signin.html",
                status=422,
                sent=False,
                email=email[:254],
                problem=visit.words.gettext(
                    "Enter the email address you use in the alliance (like name@example.org)."
                ),
            )
        request_link(
            visit.engine,
            secret=visit.settings.secret_key,
            base_url=visit.public_url,
            email=email,
            client=visit.request.client.host if visit.request.client else None,
        )
        return visit.page("signin.html", sent=True, email=email, problem=None)

    @router.get("/signin/confirm")
    def signin_confirm_page(
        visit: VisitDep, token: str = Query(default="", max_length=2000)
    ) -> Response:
        return visit.page(
            "signin_confirm.html",
            token=token,
            problem=None if token else visit.words.gettext("This sign-in link is incomplete."),
        )

    @router.post("/signin/confirm")
    def signin_confirm(visit: VisitDep, form: VisitorForm) -> Response:
        token = form.get("token", "")
        credentials = visit.engine.alliances.credentials
        try:
            person = use_token(visit.engine, visit.settings.secret_key, token)
        except SignInRefused as refused:
            return visit.page("signin_confirm.html", status=400, token="", problem=str(refused))
        assert person.id is not None
        if visit.session_key is not None:  # switching person on this browser: end the old one
            credentials.end_session(visit.session_key)
        key = credentials.start_session(person.id, SESSION_LIFETIME)
        visit.extra_cookies += [(SESSION_COOKIE, key), (VISITOR_COOKIE, None)]
        visit.fresh_visitor = False
        return visit.redirect(visit.url("/"))

    @router.post("/signout")
    def signout(visit: VisitDep, _form: VisitorForm) -> Response:
        if visit.session_key is not None:
            visit.engine.alliances.credentials.end_session(visit.session_key)
        visit.extra_cookies.append((SESSION_COOKIE, None))
        return visit.redirect(visit.url("/signin"))


def _register_pages(router: APIRouter) -> None:
    @router.get("/", name="dashboard_home")
    def home(visit: VisitDep) -> Response:
        viewer = visit.require_viewer()
        alliances = visit.engine.alliances.list_alliances(reach=viewer.reach)
        if len(alliances) == 1:
            return visit.redirect(visit.url(f"/alliances/{alliances[0].id}"))
        return visit.page("home.html", alliances=alliances)

    @router.get("/static/{name:path}", include_in_schema=False)
    def static(name: str) -> Response:
        path = (STATIC / name).resolve()
        if not path.is_file() or STATIC.resolve() not in path.parents:
            raise NotFound("file", name)
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return FileResponse(
            path, media_type=media_type, headers={"Cache-Control": "public, max-age=3600"}
        )
