"""`Annotated` dependency aliases every router uses: the engine, the settings and the caller.

    def get_cycle(cycle_id: int, engine: EngineDep, key: CurrentKey) -> CyclePublic: ...

The caller is authenticated from `Authorization: Bearer ce_...` (by the engine's credentials,
through the app's `KeyCache`) and given its `Access` (see `api.access`); a missing, unknown or
revoked key answers 401 before any route code runs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cycle_engine.api.access import Access, KeyCache
from cycle_engine.api.fields import MAX_ID
from cycle_engine.api.problems import ApiProblem
from cycle_engine.api.settings import Settings
from cycle_engine.engine import CycleEngine
from cycle_engine.store.reads import Readers

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


def key_cache(request: Request) -> KeyCache:
    """The app's cache of checked keys (built on first use, for the app's engine)."""
    cache: KeyCache | None = getattr(request.app.state, "key_cache", None)
    if cache is None:
        settings: Settings = request.app.state.settings
        lifetime = timedelta(seconds=settings.key_cache_seconds)
        cache = KeyCache(request.app.state.engine, lifetime)
        request.app.state.key_cache = cache
    return cache


KeyCacheDep = Annotated[KeyCache, Depends(key_cache)]


def readers(request: Request) -> Readers:
    """The app's reader threads (`store.reads`) for its hottest reads, on the app's engine:
    started on first use, stopped by the lifespan (`api.app`)."""
    found: Readers | None = getattr(request.app.state, "readers", None)
    if found is None:
        engine: CycleEngine = request.app.state.engine
        found = request.app.state.readers = Readers(engine.db)
    return found


async def current_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Access:
    """The access of the key behind the request; raises 401 when there is none or it is not
    valid. A key checked within the last `key_cache_seconds` answers from memory, on the event
    loop; otherwise it is read from the database in the threadpool (`api.access.KeyCache`)."""
    bearer = credentials is not None and credentials.scheme.lower() == "bearer"
    return await _access(request, credentials.credentials if bearer and credentials else None)


async def request_key(request: Request) -> Access:
    """`current_key` called directly, without FastAPI's dependency solving (which costs the
    hottest read a tenth of its time per dependency); the route declares its security in
    `openapi_extra` (`KEY_SECURITY`). The header is read as `HTTPBearer` reads it."""
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    token = token.strip()
    return await _access(request, token if scheme.lower() == "bearer" and token else None)


#: The OpenAPI security of a route that authenticates with `request_key`.
KEY_SECURITY: dict[str, object] = {"security": [{"ApiKey": []}]}


async def _access(request: Request, token: str | None) -> Access:
    if token is None:
        problem = ApiProblem(401, "send an API key as `Authorization: Bearer ce_...`")
    else:
        cache = key_cache(request)
        entry = cache.cached(token) or await anyio.to_thread.run_sync(cache.check, token)
        if entry is not None:
            request.state.key_prefix = entry.prefix
            return entry.access
        problem = ApiProblem(401, "the API key is unknown or revoked")
    problem.headers["WWW-Authenticate"] = "Bearer"
    raise problem


CurrentKey = Annotated[Access, Depends(current_key)]


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
IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="Object id.")]
