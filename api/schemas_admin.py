"""Bodies of the administration resources a host tool needs without a shell: API keys, role
grants, corrections (partial updates), archiving and the alliance's history.

Update bodies (`XUpdate`) name only what changes; a field left out (or null) keeps its value.
Enumerated values come from the engine's own lists, so the OpenAPI document cannot drift from
the code.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from cycle_engine.api.fields import (
    Day,
    Language,
    OneOf,
    RowId,
    Text100,
    Text200,
    Text300,
    Text2000,
    TimeZone,
)
from cycle_engine.api.schemas import RequestModel
from cycle_engine.api.schemas_domain import AlliancePublic, Email, WeekendDays
from cycle_engine.store.tables.access import KEY_ROLES
from cycle_engine.store.tables.alliances import ALLIANCE_ROLES, ORGANISATION_KINDS
from cycle_engine.store.tables.history import ALLIANCE_EVENT_KINDS


def _a_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a whole number (not text, not true or false)")
    return value


#: An hour of the day: a JSON number with no fraction (text and true/false are refused).
Hour = Annotated[int, BeforeValidator(_a_number)]


class KeyCreate(RequestModel):
    """admin: no alliance or organisation; coordinator and manager: an alliance; partner: an
    organisation. A coordinator creates manager and partner keys of their alliance only."""

    name: Text200 = Field(description="Who holds the key (shown in every history line).")
    role: Annotated[str, OneOf(KEY_ROLES)]
    alliance_id: RowId | None = None
    organisation_id: RowId | None = None


class KeyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    prefix: str = Field(description="The token's public part after `ce_` (for recognising it).")
    name: str
    role: Annotated[str, OneOf(KEY_ROLES)]
    alliance_id: int | None
    organisation_id: int | None
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class KeyCreated(KeyPublic):
    token: str | None = Field(
        default=None,
        description="The bearer token, in this answer only: it is not stored, and a replay of "
        "the creation (same Idempotency-Key) answers without it.",
    )


class RoleGrantPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    alliance_id: int
    person_id: int
    role: Annotated[str, OneOf(ALLIANCE_ROLES)]


class AllianceDetail(AlliancePublic):
    roles: list[RoleGrantPublic] = Field(description="Who coordinates and manages it.")


class AllianceUpdate(RequestModel):
    name: Text200 | None = None
    theme: Text300 | None = None
    timezone: TimeZone | None = None
    language: Language | None = None
    working_hours_start: Hour | None = Field(default=None, ge=0, le=23)
    working_hours_end: Hour | None = Field(default=None, ge=1, le=24)
    weekend_days: WeekendDays | None = None


class OrganisationUpdate(RequestModel):
    name: Text200 | None = None
    kind: Annotated[str, OneOf(ORGANISATION_KINDS)] | None = None
    country: Text100 | None = None
    timezone: TimeZone | None = None


class MemberUpdate(RequestModel):
    """`works_with_id: null` unlinks the organisation from its agency."""

    works_with_id: RowId | None = Field(
        default=None, description="The member agency this organisation works with, or null."
    )
    joined_on: Day | None = None


class MemberSeat(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    alliance_id: int
    organisation_id: int
    joined_on: date
    works_with_id: int | None


class PersonUpdate(RequestModel):
    name: Text200 | None = None
    email: Email | None = None
    language: Language | None = None
    timezone: TimeZone | None = None


class ArchiveCreate(RequestModel):
    reason: Text2000


class ArchivePublic(BaseModel):
    organisation_id: int
    archived_at: datetime
    stages_needing_focal_point: dict[str, dict[str, list[str]]] = Field(
        description="Per alliance id, per cycle id: the stages flagged as needing a new focal "
        "point (as when the organisation leaves)."
    )


class AllianceEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    alliance_id: int
    at: datetime
    actor: str
    kind: Annotated[str, OneOf(ALLIANCE_EVENT_KINDS)]
    subject: str
    data: dict[str, Any]


def updates(payload: RequestModel, *, nullable: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields a client sent to change: null keeps a field as it is, except in `nullable`
    fields, where it means "none" (`works_with_id: null` unlinks)."""
    sent = payload.model_dump(exclude_unset=True)
    return {k: v for k, v in sent.items() if v is not None or k in nullable}
