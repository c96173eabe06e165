"""An alliance's role grants (who coordinates and manages it) and its own history: coordinators
and managers read them; coordinators revoke grants. Granting is `POST /alliances/{id}/roles`."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from cycle_engine.api.access import COORDINATOR, MANAGER
from cycle_engine.api.deps import CurrentKey, EngineDep, IdPath, PageDep
from cycle_engine.api.idempotency import IdempotencyKey, fingerprint, run_once
from cycle_engine.api.routers.alliance_reach import require_alliance_role
from cycle_engine.api.schemas import Page, page_of
from cycle_engine.api.schemas_admin import AllianceEventPublic, RoleGrantPublic

router = APIRouter(prefix="/alliances", tags=["alliances"])


@router.get("/{alliance_id}/roles", summary="Who coordinates and manages the alliance")
def list_roles(
    alliance_id: IdPath, engine: EngineDep, key: CurrentKey, page: PageDep
) -> Page[RoleGrantPublic]:
    require_alliance_role(engine, key, alliance_id, COORDINATOR, MANAGER)
    rows = engine.alliances.corrections.roles(alliance_id, reach=key.reach)
    rows = rows[page.offset : page.offset + page.limit + 1]
    return page_of([RoleGrantPublic.model_validate(r) for r in rows], page.limit, page.offset)


@router.delete("/{alliance_id}/roles/{grant_id}", summary="Revoke a role grant", status_code=204)
def revoke_role(
    alliance_id: IdPath,
    grant_id: IdPath,
    engine: EngineDep,
    key: CurrentKey,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    require_alliance_role(engine, key, alliance_id, COORDINATOR)
    return run_once(
        engine,
        key,
        idempotency_key,
        fingerprint("DELETE", f"/alliances/{alliance_id}/roles/{grant_id}", None),
        204,
        lambda: engine.alliances.corrections.revoke_role(
            alliance_id, grant_id, actor=key.actor(alliance_id), reach=key.reach
        ),
    )


@router.get("/{alliance_id}/history", summary="Corrections, grants and keys of the alliance")
def alliance_history(
    alliance_id: IdPath, engine: EngineDep, key: CurrentKey, page: PageDep
) -> Page[AllianceEventPublic]:
    require_alliance_role(engine, key, alliance_id, COORDINATOR, MANAGER)
    rows = engine.alliances.corrections.history(alliance_id, reach=key.reach)
    rows = rows[page.offset : page.offset + page.limit + 1]
    return page_of([AllianceEventPublic.model_validate(r) for r in rows], page.limit, page.offset)
