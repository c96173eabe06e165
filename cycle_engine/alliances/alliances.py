"""Registering alliances and partner organisations, and seating organisations in alliances.

An organisation is registered once and may sit in several alliances (a membership each).
Alliance-level rows have no cycle, so they carry no cycle event; the cycle history starts when a
cycle is started on the alliance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from cycle_engine.alliances.common import (
    get_alliance,
    get_organisation,
    membership,
    require_choice,
    require_text,
    require_timezone,
)
from cycle_engine.errors import AlreadyExists, InputConflict, InvalidInput
from cycle_engine.store.tables.alliances import (
    LANGUAGES,
    ORGANISATION_KINDS,
    AllianceRecord,
    MembershipRecord,
    OrganisationRecord,
)


@dataclass(frozen=True, kw_only=True)
class Member:
    """An organisation as a member of one alliance."""

    organisation: OrganisationRecord
    joined_on: date
    works_with_id: int | None


def _weekend(value: str) -> str:
    try:
        days = sorted({int(part) for part in value.split(",") if part.strip()})
    except ValueError:
        raise InvalidInput(
            "weekend_days", f"must be day numbers like '5,6' (Mon=0), got {value!r}"
        ) from None
    if any(day < 0 or day > 6 for day in days):
        raise InvalidInput("weekend_days", f"days run from 0 (Monday) to 6, got {value!r}")
    return ",".join(str(day) for day in days)


def create_alliance(
    session: Session,
    now: datetime,
    *,
    name: str,
    theme: str,
    timezone: str = "UTC",
    language: str = "en",
    working_hours_start: int = 9,
    working_hours_end: int = 17,
    weekend_days: str = "5,6",
) -> AllianceRecord:
    """Add an alliance; raises InvalidInput for a bad zone, language or hours, or a used name."""
    name = require_text("name", name, max_length=200)
    theme = require_text("theme", theme)
    require_timezone("timezone", timezone)
    require_choice("language", language, LANGUAGES)
    if not 0 <= working_hours_start < working_hours_end <= 24:
        raise InvalidInput(
            "working_hours",
            f"need 0 <= start < end <= 24, got {working_hours_start}-{working_hours_end}",
        )
    if session.exec(select(AllianceRecord).where(AllianceRecord.name == name)).first():
        raise AlreadyExists("name", f"an alliance named {name!r} already exists")
    alliance = AllianceRecord(
        name=name,
        theme=theme,
        timezone=timezone,
        language=language,
        working_hours_start=working_hours_start,
        working_hours_end=working_hours_end,
        weekend_days=_weekend(weekend_days),
        created_at=now,
    )
    session.add(alliance)
    session.flush()
    return alliance


def find_alliance(session: Session, name: str) -> AllianceRecord | None:
    return session.exec(select(AllianceRecord).where(AllianceRecord.name == name)).first()


def add_organisation(
    session: Session, now: datetime, *, name: str, kind: str, country: str, timezone: str = "UTC"
) -> OrganisationRecord:
    """Register an organisation; raises InvalidInput for a bad kind or zone, or a used name."""
    name = require_text("name", name, max_length=200)
    require_choice("kind", kind, ORGANISATION_KINDS)
    country = require_text("country", country, max_length=100)
    require_timezone("timezone", timezone)
    if session.exec(select(OrganisationRecord).where(OrganisationRecord.name == name)).first():
        raise AlreadyExists("name", f"an organisation named {name!r} already exists")
    organisation = OrganisationRecord(
        name=name, kind=kind, country=country, timezone=timezone, created_at=now
    )
    session.add(organisation)
    session.flush()
    return organisation


def join_alliance(
    session: Session,
    *,
    alliance_id: int,
    organisation_id: int,
    joined_on: date,
    works_with_id: int | None = None,
) -> MembershipRecord:
    """Seat an organisation in an alliance; `works_with_id` must itself be a member."""
    alliance = get_alliance(session, alliance_id)
    organisation = get_organisation(session, organisation_id)
    if membership(session, alliance_id, organisation_id) is not None:
        raise AlreadyExists(
            "organisation",
            f"{organisation.name!r} is already a member of alliance {alliance.name!r}",
        )
    if works_with_id is not None:
        partner = get_organisation(session, works_with_id)
        if membership(session, alliance_id, works_with_id) is None:
            raise InputConflict(
                "works_with",
                f"organisation {partner.name!r} is not a member of alliance {alliance.name!r}",
            )
    seat = MembershipRecord(
        alliance_id=alliance_id,
        organisation_id=organisation_id,
        joined_on=joined_on,
        works_with_id=works_with_id,
    )
    session.add(seat)
    session.flush()
    return seat


def members(session: Session, alliance_id: int) -> list[Member]:
    """The alliance's member organisations, by name."""
    get_alliance(session, alliance_id)
    rows = session.exec(
        select(MembershipRecord, OrganisationRecord)
        .join(OrganisationRecord, col(OrganisationRecord.id) == MembershipRecord.organisation_id)
        .where(MembershipRecord.alliance_id == alliance_id)
        .order_by(col(OrganisationRecord.name))
    ).all()
    return [
        Member(organisation=org, joined_on=seat.joined_on, works_with_id=seat.works_with_id)
        for seat, org in rows
    ]


def alliances_of(session: Session, organisation_id: int) -> list[AllianceRecord]:
    get_organisation(session, organisation_id)
    return list(
        session.exec(
            select(AllianceRecord)
            .join(MembershipRecord, col(MembershipRecord.alliance_id) == AllianceRecord.id)
            .where(MembershipRecord.organisation_id == organisation_id)
            .order_by(col(AllianceRecord.name))
        )
    )


__all__ = [
    "Member",
    "add_organisation",
    "alliances_of",
    "create_alliance",
    "find_alliance",
    "join_alliance",
    "members",
]
