"""`Idempotency-Key` on API commands: a repeated request gets the first answer, not a second effect.

Firing a trigger uses the engine's own idempotency (the key is stored in the same transaction as
the transition, so it is exact). Other commands reserve the key per API key before running
(`engine.alliances.credentials`), then store the answer; a repeat replays it. A crash between the
command's commit and storing its answer leaves the reservation pending: a repeat then gets 409
rather than a second effect. Reusing a key for a different request is refused with 422.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Annotated

from fastapi import Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from cycle_engine.api.access import Access
from cycle_engine.api.problems import ApiProblem
from cycle_engine.engine import CycleEngine

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=120,
        pattern=r"^[!-~]+$",
        description="Send the same key again to get the first answer instead of a repeat.",
    ),
]
REPLAYED = "Idempotent-Replayed"


def fingerprint(method: str, path: str, payload: BaseModel | str | None) -> str:
    body = payload.model_dump_json() if isinstance(payload, BaseModel) else payload or ""
    return hashlib.sha256(f"{method} {path}\n{body}".encode()).hexdigest()


def scoped_key(caller: Access, key: str) -> str:
    """The key as stored by the engine: scoped to the API key, so callers never collide."""
    return f"api:{caller.key_id}:{key}"


def _replay(engine: CycleEngine, key_id: int, key: str, print_: str) -> JSONResponse | None:
    stored = engine.alliances.credentials.reserve_request(key_id, key, print_)
    if stored is None:
        return None
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
    caller: Access,
    key: str | None,
    print_: str,
    status: int,
    command: Callable[[], BaseModel],
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Run `command` once per (API key, Idempotency-Key); answer JSON with `status`."""
    if key is None or caller.key_id is None:
        return JSONResponse(command().model_dump(mode="json"), status_code=status, headers=headers)
    credentials = engine.alliances.credentials
    replay = _replay(engine, caller.key_id, key, print_)
    if replay is not None:
        return replay
    try:
        result = command()
    except BaseException:
        credentials.release_request(caller.key_id, key)
        raise
    body = result.model_dump(mode="json")
    credentials.answer_request(caller.key_id, key, status, json.dumps(body))
    return JSONResponse(body, status_code=status, headers=headers)
