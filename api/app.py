"""`create_app()`: the one way to build the HTTP service, standalone or mounted in a host app.

Standalone (`cycle-engine serve`), the lifespan opens a `CycleEngine` with every installed host
plugin's extensions (`cycle_engine.plugins`), starts the background services the settings ask
for (the scheduler driver and the outbox sender, see `api.services`), and on shutdown stops them
and closes the engine. A host passes its own engine instead (`create_app(engine=...)`): the app
uses it from the first request and never closes it.

Starlette runs only the outermost app's lifespan, so a host that mounts this app enters it from
its own with `mounted_lifespan(app)`; until some lifespan gave the app an engine, requests get a
503 problem saying so instead of a 500. Every dashboard link follows the mount prefix (the ASGI
`root_path`). Nothing is created at import time, so tests and embedders build as many apps as
they like.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from cycle_engine.api.conditional import ConditionalGetMiddleware
from cycle_engine.api.dashboard import create_dashboard_router
from cycle_engine.api.docs import docs_router
from cycle_engine.api.middleware import (
    BodyLimitMiddleware,
    NulRefusalMiddleware,
    RequestLogMiddleware,
)
from cycle_engine.api.observability import (
    RequestContextMiddleware,
    bind_path_context,
    metrics_router,
)
from cycle_engine.api.openapi import API_PREFIX, openapi_builder
from cycle_engine.api.problems import install_problem_handlers, problem_response
from cycle_engine.api.routers import (
    agenda,
    alliance_learning,
    alliances,
    contexts,
    corrections,
    cycles,
    followers,
    health,
    keys,
    learning,
    onboarding,
    organisations,
    outbox,
    participation,
    people,
    products,
    reports,
    roles,
    templates,
    transitions,
    webhooks,
    workplan,
)
from cycle_engine.api.routers.email_actions import email_actions_router
from cycle_engine.api.routers.email_downloads import email_downloads_router
from cycle_engine.api.services import BackgroundServices
from cycle_engine.api.settings import Settings
from cycle_engine.clock import Clock
from cycle_engine.engine import CycleEngine
from cycle_engine.errors import InvalidInput
from cycle_engine.logs import register_secret
from cycle_engine.metrics import EngineMetrics
from cycle_engine.plugins import load_extensions
from cycle_engine.store.reads import Readers

log = logging.getLogger("cycle_engine.api")


#: The routers requests hit most, matched first: routes are matched one by one in order, and
#: reading a cycle used to be tried against some 40 routes before its own. Moving them changes
#: no answer: none of their paths overlaps another router's (`tests/api/test_route_order.py`).
HOT_ROUTERS = (cycles, transitions)


def api_routers() -> list[APIRouter]:
    """Every resource router, each mounted under /api/v1 on its own (the hot ones first).

    Each is included in the app directly rather than through one router of routers: FastAPI
    matches an included router by walking every route under it (and again to handle the
    request), so a nested API router cost every request a walk over all the API's routes.
    """
    return [
        module.router
        for module in (
            *HOT_ROUTERS,
            templates,
            alliances,
            organisations,
            people,
            participation,
            workplan,
            products,
            contexts,
            learning,
            agenda,
            alliance_learning,
            followers,
            reports,
            outbox,
            webhooks,
            keys,
            roles,
            corrections,
            onboarding,
        )
    ]


def create_app(
    settings: Settings | None = None,
    *,
    engine: CycleEngine | None = None,
    clock: Clock | None = None,
    metrics: EngineMetrics | None = None,
) -> FastAPI:
    """Build the app (REST API under /api/v1, dashboard under /dashboard, email action pages).

    Args:
        settings: secret key, base URL, limits and which background services to run; read
            from `CYCLE_ENGINE_*` (`Settings.from_env()`) when not given. With an `engine`,
            its database URL is not used.
        engine: a host's own engine (its guards, listeners, subscribers and clock). The app
            uses it from the first request and never closes it. Without one, the lifespan
            opens an engine on `settings.database_url` with the installed plugins' extensions
            and closes it on shutdown.
        clock: the clock of the engine the lifespan opens; tests pass a `ManualClock`.
        metrics: the process's metrics registry, served at `/metrics` (behind the metrics
            token). The engine the lifespan opens counts its fires into it; a host that passes
            its own engine passes `metrics.subscriber` among its subscribers for the same
            counts. A new registry when not given.

    Raises:
        InvalidInput: both `engine` and `clock` were given (give the engine its clock), or a
            setting read from the environment is wrong.
    """
    if engine is not None and clock is not None:
        raise InvalidInput("clock", "pass the clock to the CycleEngine you give, not to create_app")
    if settings is None:
        settings = Settings.from_env()
    for secret in (settings.secret_key, settings.metrics_token):
        register_secret(secret)  # masked in any log line that would carry it
    metrics = metrics or EngineMetrics("serve")
    app = FastAPI(
        title="Cycle Engine",
        version="1",
        summary="Run Learning Alliance learning cycles as persisted state machines.",
        lifespan=_lifespan(settings, engine, clock, metrics),
        docs_url=None,  # served by docs_router from a package: works offline
        redoc_url=None,
        openapi_url="/openapi.json",
        dependencies=[Depends(bind_path_context)],
    )
    app.state.settings = settings
    app.state.metrics = metrics
    if engine is not None:
        app.state.engine = engine
        metrics.watch(engine)
    install_problem_handlers(app)
    app.include_router(health.router)
    app.include_router(metrics_router)
    for router in api_routers():
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(email_actions_router())
    app.include_router(email_downloads_router())
    app.include_router(create_dashboard_router())
    app.include_router(docs_router("/openapi.json", "Cycle Engine"))
    app.add_middleware(EngineRequiredMiddleware)
    app.add_middleware(ConditionalGetMiddleware)
    app.add_middleware(NulRefusalMiddleware)
    app.add_middleware(
        BodyLimitMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
    )
    app.add_middleware(RequestLogMiddleware)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    app.openapi = openapi_builder(app)  # type: ignore[method-assign]
    return app


def mounted_lifespan(app: FastAPI) -> AbstractAsyncContextManager[Any]:
    """The lifespan of an app built by `create_app`, for a host that mounts it.

    Starlette runs only the lifespan of the app the server serves, never those of mounted
    apps, so the host enters this one from its own:

        engine_app = create_app(settings, engine=engine)

        @asynccontextmanager
        async def lifespan(host: FastAPI) -> AsyncIterator[None]:
            async with mounted_lifespan(engine_app):
                yield

        host = FastAPI(lifespan=lifespan)
        host.mount("/ce", engine_app)

    It starts (and on exit stops) the background services the settings ask for and, when the
    app was built without an engine, opens and closes that engine.
    """
    return app.router.lifespan_context(app)


def _lifespan(
    settings: Settings, engine: CycleEngine | None, clock: Clock | None, metrics: EngineMetrics
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        running = engine if engine is not None else _open_engine(settings, clock, metrics)
        # Blocking request work runs in at most this many threads, each holding at most one
        # pooled connection (one session at a time), so requests never wait for a connection.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.request_threads
        services = BackgroundServices(running, settings, metrics)
        await anyio.to_thread.run_sync(_refresh_statistics, running)
        app.state.engine = running
        app.state.services = services
        try:
            await services.start()
            log.info("cycle engine API ready at %s", settings.base_url)
            yield
        finally:
            await services.stop()
            readers: Readers | None = getattr(app.state, "readers", None)
            if readers is not None:
                del app.state.readers
                await anyio.to_thread.run_sync(readers.close)
            if engine is None:
                del app.state.engine
                running.close()
            log.info("cycle engine API stopped")

    return lifespan


def _refresh_statistics(engine: CycleEngine) -> None:
    """Fresh planner statistics as the server starts (a failure only costs speed: logged)."""
    try:
        engine.db.refresh_statistics()
    except Exception:  # a read-only or busy database still serves
        log.warning("could not refresh the database's planner statistics", exc_info=True)


def _open_engine(settings: Settings, clock: Clock | None, metrics: EngineMetrics) -> CycleEngine:
    """The engine the lifespan opens: the plugins' extensions, and the metrics' subscriber."""
    arguments = load_extensions().engine_arguments()
    arguments["subscribers"] = [*arguments["subscribers"], metrics.subscriber]
    engine = CycleEngine(
        settings.database_url,
        schema=settings.database_schema,
        clock=clock,
        data_dir=Path(settings.data_dir),
        **arguments,
    )
    metrics.watch(engine)
    return engine


class EngineRequiredMiddleware:
    """503 (problem+json) for requests that come before any lifespan gave the app an engine.

    That happens when a host mounts an app built without `engine=` and does not enter
    `mounted_lifespan(app)`; the answer says so, instead of a 500 from deep inside a route.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and getattr(scope["app"].state, "engine", None) is None:
            response = problem_response(
                503,
                "the Cycle Engine app has no engine: it was mounted without its lifespan; "
                "enter `mounted_lifespan(app)` from the host's lifespan, or pass `engine=`",
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
