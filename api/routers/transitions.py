"""Firing a trigger: `POST /api/v1/cycles/{id}/transitions` with the trigger and a note.

A guard or role that blocks it answers 409 with the reasons and the triggers allowed now; a
stale `If-Match` answers 412; a repeated `Idempotency-Key` answers the first result again. The
caller's reach, its If-Match version and its part in the stage are checked by the engine on the
locked cycle, in the transaction that fires.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from cycle_engine.api.cycle_commands import IfMatch, etag_of, expected_version
from cycle_engine.api.deps import CurrentKey, EngineDep, IdPath
from cycle_engine.api.idempotency import IdempotencyKey, scoped_key
from cycle_engine.api.problems import ApiProblem, Problem
from cycle_engine.api.schemas import TransitionCreate, TransitionPublic

router = APIRouter(prefix="/cycles", tags=["transitions"])


@router.post(
    "/{cycle_id}/transitions",
    summary="Fire a trigger",
    status_code=201,
    responses={
        409: {"model": Problem, "description": "Blocked: reasons and allowed triggers"},
        412: {"model": Problem, "description": "If-Match names an older version"},
    },
)
def fire_trigger(
    cycle_id: IdPath,
    payload: TransitionCreate,
    engine: EngineDep,
    key: CurrentKey,
    response: Response,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> TransitionPublic:
    result = engine.cycles.fire(
        cycle_id,
        payload.trigger,
        actor=key.actor(),
        note=payload.note,
        expected_version=expected_version(if_match),
        idempotency_key=scoped_key(key, idempotency_key) if idempotency_key else None,
        reach=key.reach,
    )
    if result.cycle_id != cycle_id or result.trigger != payload.trigger:
        raise ApiProblem(
            422,
            "this Idempotency-Key was already used for a different request",
            field="Idempotency-Key",
        )
    response.headers["ETag"] = etag_of(result.version)
    response.headers["Location"] = f"/api/v1/cycles/{cycle_id}"
    return TransitionPublic(
        cycle_id=result.cycle_id,
        trigger=result.trigger,
        from_state=result.from_state,
        to_state=result.to_state,
        version=result.version,
        event_id=result.event_id,
    )
