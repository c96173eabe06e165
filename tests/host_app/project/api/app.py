"""The budget desk's FastAPI app: its own routes, and the engine's app mounted under /ce with its
lifespan entered from the desk's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from cycle_engine import CycleEngine
from cycle_engine.api import Settings, create_app, mounted_lifespan
from fastapi import FastAPI

from api.budgets import BudgetBook


def create_host_app(engine: CycleEngine, book: BudgetBook, settings: Settings) -> FastAPI:
    """The desk's app: `POST /budgets/{cycle_id}/approval`, and the engine under /ce."""
    engine_app = create_app(settings, engine=engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with mounted_lifespan(engine_app):
            yield

    app = FastAPI(title="Budget desk", lifespan=lifespan)

    @app.post("/budgets/{cycle_id}/approval", status_code=204)
    def approve_budget(cycle_id: int, approved_by: str) -> None:
        book.approve(cycle_id, approved_by)

    app.mount("/ce", engine_app)
    return app
