"""API keys as a resource: an admin creates, lists and revokes keys of every role; a
coordinator does so for the managers of their alliance and the partners seated in it.

A new key's token is in the creation's answer only; a replay of the creation (same
Idempotency-Key) answers without it. A key out of the caller's reach is not found (404).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from cycle_engine.alliances.reach import Reach
from cycle_engine.api.access import COORDINATOR, Access, require_role
from cycle_engine.api.deps import CurrentKey, EngineDep, IdPath, KeyCacheDep, PageDep
from cycle_engine.api.idempotency import IdempotencyKey, fingerprint, run_once
from cycle_engine.api.problems import ApiProblem
from cycle_engine.api.schemas import Page, page_of
from cycle_engine.api.schemas_admin import KeyCreate, KeyCreated, KeyPublic

router = APIRouter(prefix="/keys", tags=["keys"])


def organising_reach(key: Access) -> Reach:
    """The alliances the caller coordinates (admins: everything): where it hands out keys."""
    if key.is_admin:
        return key.reach
    coordinated = frozenset(a for a in key.alliance_roles if key.role_in(a) == COORDINATOR)
    return Reach(alliance_ids=coordinated)


@router.post("", summary="Create a key", status_code=201, response_model=KeyCreated)
def create_key(
    payload: KeyCreate, engine: EngineDep, key: CurrentKey, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Admins: any role. Coordinators: manager keys of their alliance, partner keys of its
    member organisations (a coordinator or admin key: 403)."""
    require_role(key, COORDINATOR)

    def command() -> KeyCreated:
        created = engine.alliances.keys.create(
            name=payload.name,
            role=payload.role,
            alliance_id=payload.alliance_id,
            organisation_id=payload.organisation_id,
            reach=organising_reach(key),
            actor=key.actor(payload.alliance_id),
        )
        return KeyCreated.model_validate({**created.record.model_dump(), "token": created.token})

    return run_once(
        engine,
        key,
        idempotency_key,
        fingerprint("POST", "/keys", payload),
        201,
        command,
        shown_once=("token",),
    )


@router.get("", summary="Keys the caller administers")
def list_keys(engine: EngineDep, key: CurrentKey, page: PageDep) -> Page[KeyPublic]:
    require_role(key, COORDINATOR)
    rows = engine.alliances.keys.list(reach=organising_reach(key))
    rows = rows[page.offset : page.offset + page.limit + 1]
    return page_of([KeyPublic.model_validate(r) for r in rows], page.limit, page.offset)


@router.get("/{key_id}", summary="One key")
def get_key(key_id: IdPath, engine: EngineDep, key: CurrentKey) -> KeyPublic:
    require_role(
        key,
        COORDINATOR,
        in_reach=lambda: engine.alliances.keys.get(key_id, reach=organising_reach(key)),
    )
    return KeyPublic.model_validate(engine.alliances.keys.get(key_id, reach=organising_reach(key)))


@router.delete("/{key_id}", summary="Revoke a key", response_model=KeyPublic)
def revoke_key(
    key_id: IdPath,
    engine: EngineDep,
    key: CurrentKey,
    cache: KeyCacheDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """The key stops working at once (in other server processes within the key cache's
    lifetime); revoking it again changes nothing."""
    require_role(
        key,
        COORDINATOR,
        in_reach=lambda: engine.alliances.keys.get(key_id, reach=organising_reach(key)),
    )
    if key_id == key.key_id:
        raise ApiProblem(
            409, "a key cannot revoke itself; revoke it with another key", type_="action-refused"
        )
    response = run_once(
        engine,
        key,
        idempotency_key,
        fingerprint("DELETE", f"/keys/{key_id}", None),
        200,
        lambda: KeyPublic.model_validate(
            engine.alliances.keys.revoke(key_id, reach=organising_reach(key), actor=key.actor())
        ),
    )
    cache.forget()
    return response
