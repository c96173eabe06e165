"""Following a cycle (issue 12 item 5): members of an alliance read its cycles; a person of a
member organisation may follow one their organisation has no role in, and then hears its
results with the informed organisations (`stage_results` emails).

Every route goes through the engine with the caller's reach (`api.access`): out of reach is
404; a partner key makes the people of its own organisation follow, a coordinator key the
people of the alliance's members; a manager key reads them only (403). Following changes
nothing on the cycle (no new version), and repeating a request is harmless: following twice
keeps the first row, removing a follower who does not follow answers 204 too.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from cycle_engine.actors import Actor
from cycle_engine.api.access import Access
from cycle_engine.api.deps import CurrentKey, EngineDep, IdPath
from cycle_engine.api.schemas_learning import FollowerCreate, FollowerPublic
from cycle_engine.engine import CycleEngine
from cycle_engine.errors import CycleNotFound

router = APIRouter(prefix="/cycles", tags=["followers"])


def _actor(engine: CycleEngine, key: Access, cycle_id: int) -> Actor:
    """The caller as it acts in the cycle's alliance (the engine checks reach itself)."""
    try:
        alliance_id = engine.get_cycle(cycle_id).alliance_id
    except CycleNotFound:
        alliance_id = None
    return key.actor(alliance_id)


@router.get("/{cycle_id}/followers", summary="People following the cycle (those in reach)")
def followers(cycle_id: IdPath, engine: EngineDep, key: CurrentKey) -> list[FollowerPublic]:
    rows = engine.learning.followers(cycle_id, reach=key.reach)
    return [FollowerPublic.model_validate(r) for r in rows]


@router.post(
    "/{cycle_id}/followers",
    summary="A person of a member organisation follows the cycle (hears its results)",
    status_code=201,
)
def follow(
    cycle_id: IdPath, payload: FollowerCreate, engine: EngineDep, key: CurrentKey
) -> FollowerPublic:
    row = engine.learning.follow_cycle(
        cycle_id, payload.person_id, actor=_actor(engine, key, cycle_id), reach=key.reach
    )
    return FollowerPublic.model_validate(row)


@router.delete(
    "/{cycle_id}/followers/{person_id}", summary="Stop following the cycle", status_code=204
)
def unfollow(cycle_id: IdPath, person_id: IdPath, engine: EngineDep, key: CurrentKey) -> Response:
    engine.learning.unfollow_cycle(
        cycle_id, person_id, actor=_actor(engine, key, cycle_id), reach=key.reach
    )
    return Response(status_code=204)
