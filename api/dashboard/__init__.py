"""The manager and partner dashboard: server-rendered pages (Jinja2) made livelier with htmx.

`create_dashboard_router()` returns the router the app factory includes; every page lives under
`/dashboard` (below the prefix a host mounts the app at) and reads the engine and settings from
`app.state`, like the API routers. Links, forms, assets and redirects are built with
`web.dashboard_path` / `Visit.url`, so they follow that prefix. Pages work without JavaScript;
htmx (vendored in static/vendor, served by the app: no CDN) only swaps parts of pages. Sign-in
is by emailed link; what a person sees and does is decided by `api.access`, the API's own reach
model, and every page reads and acts through the engine's services.

    web.py        Visit (who is visiting), rendering, HTML error pages, CSRF-checked forms
    sessions.py   signed session cookie;  csrf.py  per-session form tokens
    signin.py     emailed, signed, expiring, single-use sign-in links
    rows.py       the engine's one list of cycles as rows, badges, pages and overview figures
    account.py, overview.py, cycles.py, stalled.py, engagement.py, my_steps.py, mail_log.py,
    actions.py    the pages and forms;  svg.py, chart.py  the state diagram and the plan chart
    learning_report.py  the alliance learning report (page, Markdown and HTML downloads)
    levels.py     partners propose their organisation's level per step; coordinators decide
    template_pages.py  an alliance's templates, diffs, and migrating cycles with a preview
    editor/       the template editor: form, live check and diagram, drafts, publish preview
"""

from __future__ import annotations

from fastapi import APIRouter

from cycle_engine.api.dashboard import (
    account,
    actions,
    cycles,
    editor,
    engagement,
    learning_report,
    levels,
    mail_log,
    my_steps,
    overview,
    stalled,
    template_pages,
)
from cycle_engine.api.dashboard.web import PREFIX, DashboardRoute


def create_dashboard_router() -> APIRouter:
    """The dashboard's routes under /dashboard (not part of the OpenAPI document)."""
    router = APIRouter(prefix=PREFIX, route_class=DashboardRoute, include_in_schema=False)
    pages = (account, overview, cycles, stalled, engagement, my_steps, mail_log, actions)
    for module in (*pages, learning_report, levels, template_pages, editor):
        module.register(router)
    return router


__all__ = ["create_dashboard_router"]
