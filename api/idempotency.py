"""`Idempotency-Key` on API commands: a repeated request gets the first answer, not a second effect.

Firing a trigger uses the engine's own idempotency (the key is stored in the same transaction as
the transition, so it is exact). Other commands reserve the key per API key before running, then
store the answer; a repeat replays it. A crash between the command's commit and storing its
answer leaves the reservation pending: a repeat then gets 409 rather than a second effect.
Reusing a key for a different request is refused with 422.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Annotated

from fastapi import Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from cycle_engine.api.auth import Principal
from cycle_engine.api.problems import ApiProblem
from cycle_engine.engine import CycleEngine
from cycle_engine.store.tables.access import ApiIdempotencyRecord

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=120,
        description="Send the same key again to get the first answer instead of a repeat.",
    ),
]
REPLAYED = "Idempotent-Replayed"


def fingerprint(method: str, path: str, payload: BaseModel | str | None) -> str:
    body = payload.model_dump_json() if isinstance(payload, BaseModel) else payload or ""
    return hashlib.sha256(f"{method} {path}\n{body}".encode()).hexdigest()


def scoped_key(principal: Principal, key: str) -> str:
    """The key as stored by the engine: scoped to the API key, so callers never collide."""
    return f"api:{principal.key_id}:{key}"


def _reserve(
    engine: CycleEngine, principal: Principal, key: str, print_: str
) -> JSONResponse | None:
    try:
        with engine.db.transaction() as session:
            session.add(
                ApiIdempotencyRecord(
                    api_key_id=principal.key_id,
                    key=key,
                    fingerprint=print_,
                    created_at=engine.clock.now(),
                )
            )
        return None
    except IntegrityError:
        pass
    with engine.db.read_session() as session:
        stored = session.exec(
            select(ApiIdempotencyRecord).where(
                ApiIdempotencyRecord.api_key_id == principal.key_id, ApiIdempotencyRecord.key == key
            )
        ).first()
    if stored is None:  # released by a failed first attempt in the meantime
        raise ApiProblem(409, "a request with this Idempotency-Key just failed; send it again")
    if stored.fingerprint != print_:
        raise ApiProblem(
            422,
            "this Idempotency-Key was already used for a different request",
            field="Idempotency-Key",
        )
    if stored.status_code is None or stored.response_body is None:
        raise ApiProblem(
            409,
            "a request with this Idempotency-Key is still in progress "
            "(or was interrupted); check the resource before retrying",
        )
    return JSONResponse(
        json.loads(stored.response_body), status_code=stored.status_code, headers={REPLAYED: "true"}
    )


def run_once(
    engine: CycleEngine,
    principal: Principal,
    key: str | None,
    print_: str,
    status: int,
    command: Callable[[], BaseModel],
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Run `command` once per (API key, Idempotency-Key); answer JSON with `status`."""
    if key is None:
        return JSONResponse(command().model_dump(mode="json"), status_code=status, headers=headers)
    replay = _reserve(engine, principal, key, print_)
    if replay is not None:
        return replay
    try:
        result = command()
    except BaseException:
        with engine.db.transaction() as session:
            for row in session.exec(
                select(ApiIdempotencyRecord).where(
                    ApiIdempotencyRecord.api_key_id == principal.key_id,
                    ApiIdempotencyRecord.key == key,
                )
            ):
                session.delete(row)
        raise
    body = result.model_dump(mode="json")
    with engine.db.transaction() as session:
        stored = session.exec(
            select(ApiIdempotencyRecord).where(
                ApiIdempotencyRecord.api_key_id == principal.key_id, ApiIdempotencyRecord.key == key
            )
        ).one()
        stored.status_code = status
        stored.response_body = json.dumps(body)
        session.add(stored)
    return JSONResponse(body, status_code=status, headers=headers)
