"""Firing a trigger: `POST /api/v1/cycles/{id}/transitions` with the trigger and a note.

A guard or role that blocks it answers 409 with the reasons and the triggers allowed now; a
stale `If-Match` answers 412; a repeated `Idempotency-Key` answers the first result again
(`api.idempotency`, looked up before the If-Match version is compared). The
caller's reach, its If-Match version and its part in the stage are checked by the engine on the
locked cycle, in the transaction that fires.
"""

from __future__ import annotations

import json

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from cycle_engine.api.cycle_commands import IfMatch, etag_of, expected_version
from cycle_engine.api.deps import CurrentKey, EngineDep, IdPath
from cycle_engine.api.idempotency import IdempotencyKey, fingerprint, run_once
from cycle_engine.api.problems import Problem
from cycle_engine.api.schemas import TransitionCreate, TransitionPublic

router = APIRouter(prefix="/cycles", tags=["transitions"])


@router.post(
    "/{cycle_id}/transitions",
    summary="Fire a trigger",
    status_code=201,
    response_model=TransitionPublic,
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
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    version = expected_version(if_match)

    def command() -> TransitionPublic:
        result = engine.cycles.fire(
            cycle_id,
            payload.trigger,
            actor=key.actor(),
            note=payload.note,
            expected_version=version,
            reach=key.reach,
        )
        return TransitionPublic(
            cycle_id=result.cycle_id,
            trigger=result.trigger,
            from_state=result.from_state,
            to_state=result.to_state,
            version=result.version,
            event_id=result.event_id,
        )

    response = run_once(
        engine,
        key,
        idempotency_key,
        fingerprint("POST", f"/cycles/{cycle_id}/transitions", payload),
        201,
        command,
        headers={"Location": f"/api/v1/cycles/{cycle_id}"},
    )
    response.headers["ETag"] = etag_of(int(json.loads(bytes(response.body))["version"]))
    return response
