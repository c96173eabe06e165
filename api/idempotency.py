"""`Idempotency-Key` on API commands: one rule for every command, uploads included.

    same key, same request       the first answer again (`Idempotent-Replayed: true`), whatever
                                 the resource's version is now: the key is looked up before
                                 anything else is checked (If-Match included)
    same key, another request    422, on every route
    the first attempt failed     nothing is kept: the key is free for the next attempt

The answer is stored in the command's own transaction (`Database.unit()`: the engine command's
transaction joins the one that writes the answer), so a command that committed always has its
answer and one that did not has none; there is no "pending" state. Two requests racing with
one key: the second waits for the first to commit (an advisory lock on PostgreSQL, the single
writer on SQLite) and replays its answer; should it get past anyway, its insert of the answer
fails on the unique key, its command is undone with it, and it replays the first answer.
Keys are scoped to the API key that sent them. Fields a creation shows once (a token, a
secret) are stored as null, so a replay never shows them again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from cycle_engine.api.access import Access
from cycle_engine.api.problems import ApiProblem
from cycle_engine.engine import CycleEngine
from cycle_engine.store.tables.access import ApiIdempotencyRecord

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=120,
        pattern=r"^[!-~]+$",
        description=(
            "Send the same key with the same request again to get the first answer (even after "
            "the resource changed); the same key with another request answers 422."
        ),
    ),
]
REPLAYED = "Idempotent-Replayed"


def fingerprint(method: str, path: str, payload: BaseModel | str | bytes | None) -> str:
    """What makes two requests "the same": method, path and body (a model's JSON, or bytes)."""
    if isinstance(payload, BaseModel):
        body = payload.model_dump_json().encode()
    elif isinstance(payload, str):
        body = payload.encode()
    else:
        body = payload or b""
    return hashlib.sha256(f"{method} {path}\n".encode() + body).hexdigest()


def scoped_key(caller: Access, key: str) -> str:
    """The key as stored by the engine: scoped to the API key, so callers never collide."""
    return f"api:{caller.key_id}:{key}"


def _stored(session: Session, api_key_id: int, key: str) -> ApiIdempotencyRecord | None:
    return session.exec(
        select(ApiIdempotencyRecord).where(
            ApiIdempotencyRecord.api_key_id == api_key_id, ApiIdempotencyRecord.key == key
        )
    ).first()


class NoContent(JSONResponse):
    """A 204 answer: no body, no content type."""

    media_type = None  # type: ignore[assignment]

    def render(self, content: Any) -> bytes:
        return b""


def _answer(body: Any, status: int, headers: dict[str, str] | None) -> JSONResponse:
    if status == 204:
        return NoContent(None, status_code=204, headers=headers)
    return JSONResponse(body, status_code=status, headers=headers)


def _replay(
    stored: ApiIdempotencyRecord, print_: str, headers: dict[str, str] | None
) -> JSONResponse:
    if stored.fingerprint != print_:
        raise ApiProblem(
            422,
            "this Idempotency-Key was already used for a different request",
            field="Idempotency-Key",
            type_="idempotency-key-reused",
        )
    body = json.loads(stored.response_body or "null")
    return _answer(body, stored.status_code or 200, {**(headers or {}), REPLAYED: "true"})


def run_once(
    engine: CycleEngine,
    caller: Access,
    key: str | None,
    print_: str,
    status: int,
    command: Callable[[], BaseModel | None],
    headers: dict[str, str] | None = None,
    *,
    shown_once: Iterable[str] = (),
) -> JSONResponse:
    """Run `command` once per (API key, Idempotency-Key) and answer JSON with `status` (204:
    no body, for a command that returns None).

    `shown_once` names top-level fields of the answer that the first answer carries and a
    replay answers as null (a new key's token, a webhook's secret).
    """
    if key is None or caller.key_id is None:
        return _answer(_json(command()), status, headers)
    hidden = tuple(shown_once)
    try:
        with engine.db.unit() as session:
            _serialise(engine, session, caller.key_id, key)
            stored = _stored(session, caller.key_id, key)
            if stored is not None:
                return _replay(stored, print_, headers)
            body = _json(command())
            kept = (
                {k: None if k in hidden else v for k, v in body.items()}
                if hidden and isinstance(body, dict)
                else body
            )
            session.add(
                ApiIdempotencyRecord(
                    api_key_id=caller.key_id,
                    key=key,
                    fingerprint=print_,
                    status_code=status,
                    response_body=json.dumps(kept),
                    created_at=engine.clock.now(),
                )
            )
            session.flush()
    except IntegrityError:  # the same key answered by a concurrent request first
        with engine.db.read_session() as session:
            stored = _stored(session, caller.key_id, key)
        if stored is None:
            raise
        return _replay(stored, print_, headers)
    return _answer(body, status, headers)


def _serialise(engine: CycleEngine, session: Session, api_key_id: int, key: str) -> None:
    """Make a second request with the same key wait for the first to commit (PostgreSQL: a
    transaction-scoped advisory lock on the key; SQLite's single writer already does), so it
    finds the stored answer instead of running into the first one's effects."""
    if engine.db.is_postgresql:
        digest = hashlib.sha256(f"{api_key_id}:{key}".encode()).digest()
        lock = int.from_bytes(digest[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": lock})


def _json(result: BaseModel | None) -> Any:
    return None if result is None else result.model_dump(mode="json")
