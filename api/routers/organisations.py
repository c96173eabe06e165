"""Organisations: list and read those in reach; admins and coordinators register new ones
(a coordinator's new organisation is seated in the coordinator's alliance, in the same
transaction)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from cycle_engine.api.access import require_role
from cycle_engine.api.deps import CurrentKey, EngineDep, IdPath, PageDep
from cycle_engine.api.idempotency import IdempotencyKey, fingerprint, run_once
from cycle_engine.api.problems import ApiProblem
from cycle_engine.api.schemas import Page, page_of
from cycle_engine.api.schemas_domain import OrganisationCreate, OrganisationPublic

router = APIRouter(prefix="/organisations", tags=["organisations"])


@router.get("", summary="Organisations in reach")
def list_organisations(
    engine: EngineDep, key: CurrentKey, page: PageDep
) -> Page[OrganisationPublic]:
    organisations = engine.alliances.list_organisations(reach=key.reach)
    rows = sorted(organisations, key=lambda o: o.id or 0)
    rows = rows[page.offset : page.offset + page.limit + 1]
    return page_of([OrganisationPublic.model_validate(r) for r in rows], page.limit, page.offset)


@router.post(
    "", summary="Register an organisation", status_code=201, response_model=OrganisationPublic
)
def create_organisation(
    payload: OrganisationCreate,
    engine: EngineDep,
    key: CurrentKey,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    require_role(key, "coordinator")
    if payload.alliance_id is None and not key.is_admin:
        raise ApiProblem(
            422,
            "a coordinator seats the new organisation in their alliance",
            field="body.alliance_id",
        )
    return run_once(
        engine,
        key,
        idempotency_key,
        fingerprint("POST", "/organisations", payload),
        201,
        lambda: OrganisationPublic.model_validate(
            engine.alliances.add_organisation(
                payload.name,
                payload.kind,
                payload.country,
                timezone=payload.timezone,
                alliance_id=payload.alliance_id,
                reach=key.reach,
            )
        ),
    )


@router.get("/{organisation_id}", summary="One organisation")
def get_organisation(
    organisation_id: IdPath, engine: EngineDep, key: CurrentKey
) -> OrganisationPublic:
    return OrganisationPublic.model_validate(
        engine.alliances.get_organisation(organisation_id, reach=key.reach)
    )
