"""Organisations: list and read those in reach; admins and coordinators register new ones
(a coordinator's new organisation is seated in the coordinator's alliance)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlmodel import col, select

from cycle_engine.api.auth import scope_organisations
from cycle_engine.api.deps import CurrentKey, EngineDep, IdPath, PageDep, ReadSession, require_role
from cycle_engine.api.idempotency import IdempotencyKey, fingerprint, run_once
from cycle_engine.api.problems import ApiProblem
from cycle_engine.api.routers.alliances import reach_alliance
from cycle_engine.api.schemas import Page, page_of
from cycle_engine.api.schemas_domain import OrganisationCreate, OrganisationPublic
from cycle_engine.errors import OrganisationNotFound
from cycle_engine.store.tables.alliances import OrganisationRecord

router = APIRouter(prefix="/organisations", tags=["organisations"])


@router.get("", summary="Organisations in reach")
def list_organisations(
    key: CurrentKey, session: ReadSession, page: PageDep
) -> Page[OrganisationPublic]:
    query = scope_organisations(select(OrganisationRecord), key)
    rows = session.exec(
        query.order_by(col(OrganisationRecord.id)).offset(page.offset).limit(page.limit + 1)
    ).all()
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
    if payload.alliance_id is not None:
        reach_alliance(engine, key, payload.alliance_id)

    def command() -> OrganisationPublic:
        record = engine.alliances.add_organisation(
            payload.name, payload.kind, payload.country, timezone=payload.timezone
        )
        if payload.alliance_id is not None:
            assert record.id is not None
            engine.alliances.join_alliance(payload.alliance_id, record.id)
        return OrganisationPublic.model_validate(record)

    return run_once(
        engine, key, idempotency_key, fingerprint("POST", "/organisations", payload), 201, command
    )


@router.get("/{organisation_id}", summary="One organisation")
def get_organisation(
    organisation_id: IdPath, key: CurrentKey, session: ReadSession
) -> OrganisationPublic:
    query = scope_organisations(
        select(OrganisationRecord).where(OrganisationRecord.id == organisation_id), key
    )
    record = session.exec(query).first()
    if record is None:
        raise OrganisationNotFound(organisation_id)
    return OrganisationPublic.model_validate(record)
