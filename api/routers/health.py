"""Liveness and readiness: `/healthz` answers while the process runs, `/readyz` only when the
database answers, its schema is the one this engine expects, and it takes a write (a read-only
or full database is not ready, whatever a read says), for load balancers."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError

from cycle_engine.api.deps import EngineDep
from cycle_engine.api.problems import RETRY_AFTER_SECONDS, Problem, problem_response
from cycle_engine.errors import SchemaTooNew

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


@router.get("/healthz", summary="Liveness")
async def healthz() -> Health:
    """The process is up (no database call; also the benchmark's trivial endpoint)."""
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Readiness",
    response_model=Health,
    responses={503: {"model": Problem, "description": "Not ready"}},
)
def readyz(engine: EngineDep) -> Health | JSONResponse:
    """The database answers, its schema is current, and it takes a write."""
    retry = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    try:
        status = engine.cycles.schema_status()
        if status == "current":
            engine.cycles.check_writable()
    except SchemaTooNew as error:
        return problem_response(503, str(error))
    except DBAPIError as error:
        reason = str(error.orig if error.orig is not None else error).strip().splitlines()
        return problem_response(503, f"database not ready: {reason[0] if reason else error}", retry)
    if status != "current":
        return problem_response(503, f"database schema is {status}")
    return Health(status="ready")
