"""`Annotated` dependency aliases every router uses: the engine, the settings and the caller.

    def get_cycle(cycle_id: int, engine: EngineDep, key: CurrentKey) -> CyclePublic: ...

The caller is authenticated from `Authorization: Bearer ce_...`; a missing, unknown or revoked
key answers 401 before any route code runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from cycle_engine.api.auth import Principal, authenticate
from cycle_engine.api.problems import ApiProblem
from cycle_engine.api.settings import Settings
from cycle_engine.engine import CycleEngine

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key from `cycle-engine key create`, sent as "
    "`Authorization: Bearer ce_...`.",
)


async def get_engine(request: Request) -> CycleEngine:
    """The app's engine (async: no thread hop for a dictionary lookup)."""
    engine: CycleEngine = request.app.state.engine
    return engine


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


EngineDep = Annotated[CycleEngine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def current_principal(
    request: Request,
    engine: EngineDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The key behind the request; raises 401 when there is none or it is not valid."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        problem = ApiProblem(401, "send an API key as `Authorization: Bearer ce_...`")
    else:
        principal = authenticate(engine.db, engine.clock, credentials.credentials)
        if principal is not None:
            request.state.key_prefix = principal.prefix
            return principal
        problem = ApiProblem(401, "the API key is unknown or revoked")
    problem.headers["WWW-Authenticate"] = "Bearer"
    raise problem


CurrentKey = Annotated[Principal, Depends(current_principal)]


def read_session(engine: EngineDep) -> Iterator[Session]:
    """A read-only session for the scoped queries of one request."""
    with engine.db.read_session() as session:
        yield session


ReadSession = Annotated[Session, Depends(read_session)]


def require_role(principal: Principal, *roles: str) -> None:
    """Refuse (403) a key whose role is not one of `roles`; admin always passes."""
    if principal.is_admin or principal.role in roles:
        return
    raise ApiProblem(
        403,
        f"a {principal.role} key may not do this (needs {' or '.join(roles)})",
        role=principal.role,
    )


class PageParams:
    """`limit` and `offset` for every list."""

    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=500, description="Items per page.")] = 50,
        offset: Annotated[int, Query(ge=0, le=1_000_000_000, description="Items to skip.")] = 0,
    ) -> None:
        self.limit = limit
        self.offset = offset


PageDep = Annotated[PageParams, Depends()]


#: Every object id in a path: bounded so a huge number is a 422, never a database overflow.
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1, description="Object id.")]
