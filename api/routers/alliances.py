"""Alliances: list and read those in reach (one alliance with its role grants), create (admin),
seat organisations, grant alliance roles, and the turnover and workload views coordinators and
managers read. Corrections, role revocation and the alliance's history: `corrections`, `roles`."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from cycle_engine.alliances.people import OrganisationTurnover, OrganisationWorkload
from cycle_engine.api.access import Access, require_role
from cycle_engine.api.deps import CurrentKey, EngineDep, IdPath, PageDep
from cycle_engine.api.idempotency import IdempotencyKey, fingerprint, run_once
from cycle_engine.api.schemas import Page, page_of
from cycle_engine.api.schemas_admin import AllianceDetail, RoleGrantPublic
from cycle_engine.api.schemas_domain import (
    AllianceCreate,
    AlliancePublic,
    MemberCreate,
    MemberPublic,
    OrganisationPublic,
    RoleGrant,
)
from cycle_engine.engine import CycleEngine
from cycle_engine.store.tables.alliances import AllianceRecord

router = APIRouter(prefix="/alliances", tags=["alliances"])


def reach_alliance(engine: CycleEngine, key: Access, alliance_id: int) -> AllianceRecord:
    """The alliance; 404 unless the key reaches it."""
    return engine.alliances.get_alliance(alliance_id, reach=key.reach)


@router.get("", summary="Alliances in reach")
def list_alliances(engine: EngineDep, key: CurrentKey, page: PageDep) -> Page[AlliancePublic]:
    rows = sorted(engine.alliances.list_alliances(reach=key.reach), key=lambda a: a.id or 0)
    rows = rows[page.offset : page.offset + page.limit + 1]
    return page_of([AlliancePublic.model_validate(r) for r in rows], page.limit, page.offset)


@router.post(
    "", summary="Create an alliance (admin)", status_code=201, response_model=AlliancePublic
)
def create_alliance(
    payload: AllianceCreate,
    engine: EngineDep,
    key: CurrentKey,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    require_role(key, "admin")
    return run_once(
        engine,
        key,
        idempotency_key,
        fingerprint("POST", "/alliances", payload),
        201,
        lambda: AlliancePublic.model_validate(
            engine.alliances.create_alliance(**payload.model_dump())
        ),
    )


@router.get("/{alliance_id}", summary="One alliance, with who coordinates and manages it")
def get_alliance(alliance_id: IdPath, engine: EngineDep, key: CurrentKey) -> AllianceDetail:
    alliance = reach_alliance(engine, key, alliance_id)
    roles = engine.alliances.corrections.roles(alliance_id, reach=key.reach)
    return AllianceDetail.model_validate(
        {
            **alliance.model_dump(),
            "roles": [RoleGrantPublic.model_validate(r) for r in roles],
        }
    )


@router.get("/{alliance_id}/members", summary="Organisations seated in the alliance")
def list_members(
    alliance_id: IdPath, engine: EngineDep, key: CurrentKey, page: PageDep
) -> Page[MemberPublic]:
    reach_alliance(engine, key, alliance_id)
    members = engine.alliances.alliance_members(alliance_id)[
        page.offset : page.offset + page.limit + 1
    ]
    rows = [
        MemberPublic(
            organisation=OrganisationPublic.model_validate(m.organisation),
            joined_on=m.joined_on,
            works_with_id=m.works_with_id,
        )
        for m in members
    ]
    return page_of(rows, page.limit, page.offset)


@router.post(
    "/{alliance_id}/members",
    summary="Seat an organisation",
    status_code=201,
    response_model=MemberPublic,
)
def add_member(
    alliance_id: IdPath,
    payload: MemberCreate,
    engine: EngineDep,
    key: CurrentKey,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    require_role(key, "coordinator", in_reach=lambda: reach_alliance(engine, key, alliance_id))

    def command() -> MemberPublic:
        seat = engine.alliances.join_alliance(
            alliance_id,
            payload.organisation_id,
            joined_on=payload.joined_on,
            works_with_id=payload.works_with_id,
            reach=key.reach,
        )
        organisation = engine.alliances.get_organisation(seat.organisation_id)
        return MemberPublic(
            organisation=OrganisationPublic.model_validate(organisation),
            joined_on=seat.joined_on,
            works_with_id=seat.works_with_id,
        )

    return run_once(
        engine,
        key,
        idempotency_key,
        fingerprint("POST", f"/alliances/{alliance_id}/members", payload),
        201,
        command,
    )


@router.post(
    "/{alliance_id}/roles",
    summary="Make a person coordinator or manager",
    status_code=201,
    response_model=RoleGrantPublic,
)
def grant_role(
    alliance_id: IdPath,
    payload: RoleGrant,
    engine: EngineDep,
    key: CurrentKey,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    require_role(key, "coordinator", in_reach=lambda: reach_alliance(engine, key, alliance_id))

    def command() -> RoleGrantPublic:
        record = engine.alliances.grant_role(
            alliance_id, payload.person_id, payload.role, reach=key.reach
        )
        return RoleGrantPublic.model_validate(record)

    return run_once(
        engine,
        key,
        idempotency_key,
        fingerprint("POST", f"/alliances/{alliance_id}/roles", payload),
        201,
        command,
    )


@router.get("/{alliance_id}/turnover", summary="Staff turnover per organisation")
def turnover(alliance_id: IdPath, engine: EngineDep, key: CurrentKey) -> list[OrganisationTurnover]:
    reach_alliance(engine, key, alliance_id)
    require_role(key, "coordinator", "manager")
    return engine.alliances.turnover(alliance_id)


@router.get("/{alliance_id}/workload", summary="What each organisation carries")
def workload(alliance_id: IdPath, engine: EngineDep, key: CurrentKey) -> list[OrganisationWorkload]:
    reach_alliance(engine, key, alliance_id)
    require_role(key, "coordinator", "manager")
    return engine.alliances.workload(alliance_id)
