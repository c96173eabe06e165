"""`create_app(settings)`: the one way to build the HTTP service.

The lifespan opens the `CycleEngine` (with the webhook listener), starts the in-process
background services the settings ask for (the scheduler driver and the outbox sender, see
`api.services`) and stops them, then closes the engine, on shutdown. Nothing is created at
import time, so tests and embedders build as many apps as they like.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi

from cycle_engine.api.dashboard import create_dashboard_router
from cycle_engine.api.middleware import BodyLimitMiddleware, RequestLogMiddleware
from cycle_engine.api.problems import PROBLEM_JSON, install_problem_handlers
from cycle_engine.api.routers import (
    alliances,
    contexts,
    cycles,
    health,
    learning,
    organisations,
    outbox,
    participation,
    people,
    products,
    reports,
    templates,
    transitions,
    webhooks,
    workplan,
)
from cycle_engine.api.routers.email_actions import email_actions_router
from cycle_engine.api.services import BackgroundServices
from cycle_engine.api.settings import Settings
from cycle_engine.clock import Clock
from cycle_engine.engine import CycleEngine

log = logging.getLogger("cycle_engine.api")
API_PREFIX = "/api/v1"


def api_router() -> APIRouter:
    """Every resource router, to be mounted under /api/v1."""
    router = APIRouter()
    for module in (
        templates,
        alliances,
        organisations,
        people,
        cycles,
        transitions,
        participation,
        workplan,
        products,
        contexts,
        learning,
        reports,
        outbox,
        webhooks,
    ):
        router.include_router(module.router)
    return router


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """Build the app; the engine is opened in the lifespan (so on the server's event loop).

    Args:
        settings: read once by the caller (`Settings.from_env()`).
        clock: the engine's clock; tests pass a `ManualClock`.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = CycleEngine(
            settings.database_url,
            clock=clock,
            data_dir=Path(settings.data_dir),
        )
        services = BackgroundServices(engine, settings)
        app.state.engine = engine
        app.state.settings = settings
        app.state.services = services
        await services.start()
        log.info("cycle engine API ready at %s", settings.base_url)
        try:
            yield
        finally:
            await services.stop()
            engine.close()
            log.info("cycle engine API stopped")

    app = FastAPI(
        title="Cycle Engine",
        version="1",
        summary="Run Learning Alliance learning cycles as persisted state machines.",
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    install_problem_handlers(app)
    app.include_router(health.router)
    app.include_router(api_router(), prefix=API_PREFIX)
    app.include_router(email_actions_router())
    app.include_router(create_dashboard_router())
    app.include_router(create_dashboard_router())
    app.add_middleware(
        BodyLimitMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
    )
    app.add_middleware(RequestLogMiddleware)
    app.openapi = _openapi_with_problems(app)  # type: ignore[method-assign]
    return app


def _openapi_with_problems(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The OpenAPI document, with every error answer described as problem+json."""

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, summary=app.summary, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = {
            "type": "object",
            "title": "Problem",
            "additionalProperties": True,
            "required": ["type", "title", "status"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
            },
        }
        problem = {"content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        for path, item in schema.get("paths", {}).items():
            for operation in item.values():
                responses = operation.setdefault("responses", {})
                codes = ["422", "413", "500"]
                if path.startswith(API_PREFIX):
                    codes += ["401", "403", "404"]
                if "requestBody" in operation and "Idempotency-Key" in str(operation):
                    codes += ["409"]
                for code in codes:
                    described = responses.get(code, {}).get("description", _REASONS[code])
                    responses[code] = {"description": described, **problem}
                for code, response in responses.items():
                    if code[0] in "45" and "content" in response:
                        response["content"] = problem["content"]
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        app.openapi_schema = schema
        return schema

    return build


_REASONS = {
    "401": "No valid API key",
    "403": "The key's role may not do this",
    "404": "Not found, or outside the key's reach",
    "409": "Conflict",
    "413": "Request body too large",
    "422": "Invalid input (the field is named)",
    "500": "Server error",
}
