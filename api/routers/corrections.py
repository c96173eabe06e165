"""Corrections: PATCH an alliance, an organisation (its seat: the agency it works with), a
person; DELETE what nothing depends on; archive an organisation that has a history.

    alliance          its coordinators (and admins)
    organisation      coordinators of an alliance it sits in, its own partner key, admins
    seat              the alliance's coordinators
    person            as for registering one: coordinators, their organisation's partner key

Each writes a line in the alliance's history (`GET /alliances/{id}/history`). A removal that
something depends on answers 409 naming it; archive the organisation or record that the
person left instead.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from cycle_engine.api.access import COORDINATOR, PARTNER, Access, require_role
from cycle_engine.api.deps import CurrentKey, EngineDep, IdPath, KeyCacheDep
from cycle_engine.api.idempotency import IdempotencyKey, fingerprint, run_once
from cycle_engine.api.routers.alliance_reach import require_alliance_role
from cycle_engine.api.schemas_admin import (
    AllianceUpdate,
    ArchiveCreate,
    ArchivePublic,
    MemberSeat,
    MemberUpdate,
    OrganisationUpdate,
    PersonUpdate,
    updates,
)
from cycle_engine.api.schemas_domain import AlliancePublic, OrganisationPublic, PersonPublic
from cycle_engine.engine import CycleEngine

router = APIRouter(tags=["corrections"])


def _require_for_organisation(
    engine: CycleEngine, key: Access, organisation_id: int, *roles: str
) -> None:
    """Refuse (403) a caller with none of `roles`; 404 if the organisation is out of reach."""
    require_role(
        key,
        *roles,
        in_reach=lambda: engine.alliances.get_organisation(organisation_id, reach=key.reach),
    )


def _require_for_person(engine: CycleEngine, key: Access, person_id: int, *roles: str) -> None:
    """Refuse (403) a caller with none of `roles`; 404 if the person is out of reach."""
    require_role(
        key, *roles, in_reach=lambda: engine.alliances.get_person(person_id, reach=key.reach)
    )


@router.patch(
    "/alliances/{alliance_id}", summary="Correct an alliance", response_model=AlliancePublic
)
def update_alliance(
    alliance_id: IdPath,
    payload: AllianceUpdate,
    engine: EngineDep,
    key: CurrentKey,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    require_alliance_role(engine, key, alliance_id, COORDINATOR)
    return run_once(
        engine,
        key,
        idempotency_key,
        fingerprint("PATCH", f"/alliances/{alliance_id}", payload),
        200,
        lambda: AlliancePublic.model_validate(
            engine.alliances.corrections.update_alliance(
                alliance_id, updates(payload), actor=key.actor(alliance_id), reach=key.reach
            )
        ),
    )


@router.patch(
    "/organisations/{organisation_id}",
    summary="Correct an organisation",
    response_model=OrganisationPublic,
)
def update_organisation(
    organisation_id: IdPath,
    payload: OrganisationUpdate,
    engine: EngineDep,
    key: CurrentKey,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    _require_for_organisation(engine, key, organisation_id, COORDINATOR, PARTNER)
    return run_once(
        engine,
        key,
        idempotency_key,
        fingerprint("PATCH", f"/organisations/{organisation_id}", payload),
        200,
        lambda: OrganisationPublic.model_validate(
            engine.alliances.corrections.update_organisation(
                organisation_id, updates(payload), actor=key.actor(), reach=key.reach
            )
        ),
    )


@router.patch(
    "/alliances/{alliance_id}/members/{organisation_id}",
    summary="Correct a seat (the agency an organisation works with)",
    response_model=MemberSeat,
)
def update_member(
    alliance_id: IdPath,
    organisation_id: IdPath,
    payload: MemberUpdate,
    engine: EngineDep,
    key: CurrentKey,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    require_alliance_role(engine, key, alliance_id, COORDINATOR)
    return run_once(
        engine,
        key,
        idempotency_key,
        fingerprint("PATCH", f"/alliances/{alliance_id}/members/{organisation_id}", payload),
        200,
        lambda: MemberSeat.model_validate(
            engine.alliances.corrections.update_member(
                alliance_id,
                organisation_id,
                updates(payload, nullable=("works_with_id",)),
                actor=key.actor(alliance_id),
                reach=key.reach,
            )
        ),
    )


@router.delete(
    "/alliances/{alliance_id}/members/{organisation_id}",
    summary="Unseat an organisation that did nothing in the alliance yet",
    status_code=204,
)
def remove_member(
    alliance_id: IdPath,
    organisation_id: IdPath,
    engine: EngineDep,
    key: CurrentKey,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    require_alliance_role(engine, key, alliance_id, COORDINATOR)
    return run_once(
        engine,
        key,
        idempotency_key,
        fingerprint("DELETE", f"/alliances/{alliance_id}/members/{organisation_id}", None),
        204,
        lambda: engine.alliances.removals.remove_member(
            alliance_id, organisation_id, actor=key.actor(alliance_id), reach=key.reach
        ),
    )


@router.delete(
    "/organisations/{organisation_id}",
    summary="Remove an organisation nothing depends on",
    status_code=204,
)
def remove_organisation(
    organisation_id: IdPath,
    engine: EngineDep,
    key: CurrentKey,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    _require_for_organisation(engine, key, organisation_id, COORDINATOR)
    return run_once(
        engine,
        key,
        idempotency_key,
        fingerprint("DELETE", f"/organisations/{organisation_id}", None),
        204,
        lambda: engine.alliances.removals.remove_organisation(
            organisation_id, actor=key.actor(), reach=key.reach
        ),
    )


@router.post(
    "/organisations/{organisation_id}/archive",
    summary="Archive an organisation (keeps its history; its open roles are flagged)",
    status_code=201,
    response_model=ArchivePublic,
)
def archive_organisation(
    organisation_id: IdPath,
    payload: ArchiveCreate,
    engine: EngineDep,
    key: CurrentKey,
    cache: KeyCacheDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Its partner keys are revoked; in every alliance it sits in, its departure is recorded."""
    _require_for_organisation(engine, key, organisation_id, COORDINATOR)

    def command() -> ArchivePublic:
        flagged = engine.alliances.removals.archive_organisation(
            organisation_id, payload.reason, actor=key.actor(), reach=key.reach
        )
        record = engine.alliances.removals.archived(organisation_id)
        assert record is not None
        return ArchivePublic(
            organisation_id=organisation_id,
            archived_at=record.archived_at,
            stages_needing_focal_point={
                str(a): {str(c): stages for c, stages in cycles.items()}
                for a, cycles in flagged.items()
            },
        )

    response = run_once(
        engine,
        key,
        idempotency_key,
        fingerprint("POST", f"/organisations/{organisation_id}/archive", payload),
        201,
        command,
    )
    cache.forget()
    return response


@router.patch("/people/{person_id}", summary="Correct a person", response_model=PersonPublic)
def update_person(
    person_id: IdPath,
    payload: PersonUpdate,
    engine: EngineDep,
    key: CurrentKey,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    _require_for_person(engine, key, person_id, COORDINATOR, PARTNER)
    return run_once(
        engine,
        key,
        idempotency_key,
        fingerprint("PATCH", f"/people/{person_id}", payload),
        200,
        lambda: PersonPublic.model_validate(
            engine.alliances.corrections.update_person(
                person_id, updates(payload), actor=key.actor(), reach=key.reach
            )
        ),
    )


@router.delete(
    "/people/{person_id}", summary="Remove a person registered by mistake", status_code=204
)
def remove_person(
    person_id: IdPath,
    engine: EngineDep,
    key: CurrentKey,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    _require_for_person(engine, key, person_id, COORDINATOR, PARTNER)
    return run_once(
        engine,
        key,
        idempotency_key,
        fingerprint("DELETE", f"/people/{person_id}", None),
        204,
        lambda: engine.alliances.removals.remove_person(
            person_id, actor=key.actor(), reach=key.reach
        ),
    )
