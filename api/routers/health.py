"""Liveness and readiness: `/healthz` answers while the process runs, `/readyz` only when the
database is reachable and its schema is the one this engine expects (for load balancers)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from cycle_engine.api.deps import EngineDep
from cycle_engine.api.problems import Problem, problem_response
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
    """The database answers and its schema is current."""
    try:
        status = engine.cycles.schema_status()
    except SchemaTooNew as error:
        return problem_response(503, str(error))
    except Exception as error:  # any driver error means "not ready"
        return problem_response(503, f"database unreachable: {type(error).__name__}")
    if status != "current":
        return problem_response(503, f"database schema is {status}")
    return Health(status="ready")
