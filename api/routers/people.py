"""People: partners' staff. A key sees the people of the organisations it reaches (a partner:
its own organisation's); departures are recorded so stages needing a focal point show up."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from sqlmodel import col, select

from cycle_engine.actors import Actor
from cycle_engine.api.auth import Principal, organisation_in_reach, scope_organisations
from cycle_engine.api.deps import CurrentKey, EngineDep, IdPath, PageDep, ReadSession, require_role
from cycle_engine.api.idempotency import IdempotencyKey, fingerprint, run_once
from cycle_engine.api.people_reach import reach_person
from cycle_engine.api.schemas import Page, page_of
from cycle_engine.api.schemas_domain import (
    DepartureCreate,
    DeparturePublic,
    PersonCreate,
    PersonPublic,
)
from cycle_engine.errors import OrganisationNotFound
from cycle_engine.store.tables.alliances import OrganisationRecord, PersonRecord

router = APIRouter(prefix="/people", tags=["people"])


def _people_in_reach(key: Principal) -> Any:
    return scope_organisations(select(OrganisationRecord.id), key)


@router.get("", summary="People in reach")
def list_people(
    key: CurrentKey,
    session: ReadSession,
    page: PageDep,
    organisation_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Page[PersonPublic]:
    query = select(PersonRecord).where(col(PersonRecord.organisation_id).in_(_people_in_reach(key)))
    if organisation_id is not None:
        query = query.where(PersonRecord.organisation_id == organisation_id)
    rows = session.exec(
        query.order_by(col(PersonRecord.id)).offset(page.offset).limit(page.limit + 1)
    ).all()
    return page_of([PersonPublic.model_validate(r) for r in rows], page.limit, page.offset)


@router.post("", summary="Register a person", status_code=201, response_model=PersonPublic)
def create_person(
    payload: PersonCreate,
    engine: EngineDep,
    key: CurrentKey,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Admins, coordinators (organisations of their alliance) and partners (their own)."""
    with engine.db.read_session() as session:
        if not organisation_in_reach(session, key, payload.organisation_id):
            raise OrganisationNotFound(payload.organisation_id)
    require_role(key, "coordinator", "partner")
    return run_once(
        engine,
        key,
        idempotency_key,
        fingerprint("POST", "/people", payload),
        201,
        lambda: PersonPublic.model_validate(
            engine.alliances.add_person(
                payload.name,
                payload.email,
                payload.organisation_id,
                joined_on=payload.joined_on,
                language=payload.language,
                timezone=payload.timezone,
            )
        ),
    )


@router.get("/{person_id}", summary="One person")
def get_person(person_id: IdPath, engine: EngineDep, key: CurrentKey) -> PersonPublic:
    return PersonPublic.model_validate(reach_person(engine, key, person_id))


@router.post(
    "/{person_id}/departure",
    summary="Record that a person left",
    status_code=201,
    response_model=DeparturePublic,
)
def record_departure(
    person_id: IdPath,
    payload: DepartureCreate,
    engine: EngineDep,
    key: CurrentKey,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Returns, per cycle, the stages that now need a new focal point."""
    reach_person(engine, key, person_id)
    require_role(key, "coordinator", "partner")
    actor: Actor = key.actor

    def command() -> DeparturePublic:
        stages = engine.alliances.person_left(
            person_id, left_on=payload.left_on, actor=actor, note=payload.note
        )
        return DeparturePublic(
            person_id=person_id, stages_needing_focal_point={str(k): v for k, v in stages.items()}
        )

    return run_once(
        engine,
        key,
        idempotency_key,
        fingerprint("POST", f"/people/{person_id}/departure", payload),
        201,
        command,
    )
