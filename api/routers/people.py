"""People: partners' staff. A key sees the people of the organisations it reaches (a partner:
its own organisation's); departures are recorded so stages needing a focal point show up."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from cycle_engine.api.access import require_role
from cycle_engine.api.deps import CurrentKey, EngineDep, IdPath, PageDep
from cycle_engine.api.fields import MAX_ID
from cycle_engine.api.idempotency import IdempotencyKey, fingerprint, run_once
from cycle_engine.api.schemas import Page, page_of
from cycle_engine.api.schemas_domain import (
    DepartureCreate,
    DeparturePublic,
    PersonCreate,
    PersonPublic,
)

router = APIRouter(prefix="/people", tags=["people"])


@router.get("", summary="People in reach")
def list_people(
    engine: EngineDep,
    key: CurrentKey,
    page: PageDep,
    organisation_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Page[PersonPublic]:
    people = engine.alliances.list_people(organisation_id=organisation_id, reach=key.reach)
    rows = sorted(people, key=lambda p: p.id or 0)[page.offset : page.offset + page.limit + 1]
    return page_of([PersonPublic.model_validate(r) for r in rows], page.limit, page.offset)


@router.post("", summary="Register a person", status_code=201, response_model=PersonPublic)
def create_person(
    payload: PersonCreate,
    engine: EngineDep,
    key: CurrentKey,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Admins, coordinators (organisations of their alliance) and partners (their own)."""
    require_role(
        key,
        "coordinator",
        "partner",
        in_reach=lambda: engine.alliances.get_organisation(
            payload.organisation_id, reach=key.reach
        ),
    )
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
                reach=key.reach,
            )
        ),
    )


@router.get("/{person_id}", summary="One person")
def get_person(person_id: IdPath, engine: EngineDep, key: CurrentKey) -> PersonPublic:
    return PersonPublic.model_validate(engine.alliances.get_person(person_id, reach=key.reach))


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
    require_role(
        key,
        "coordinator",
        "partner",
        in_reach=lambda: engine.alliances.get_person(person_id, reach=key.reach),
    )

    def command() -> DeparturePublic:
        stages = engine.alliances.person_left(
            person_id,
            left_on=payload.left_on,
            actor=key.actor(),
            note=payload.note,
            reach=key.reach,
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
