"""Who is looking at the dashboard, and what they may see and do: the API's roles, per person.

A signed-in person is a partner of their own organisation, and may also coordinate or manage
alliances (`alliance_roles`). What they see is the union of what the matching API keys would
see: a coordinator or manager every cycle of their alliances, a partner the cycles their
organisation takes part in. Anything outside that is "not found" (404), as in the API. When a
person acts, the actor's role is their strongest role in the cycle's alliance, else partner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from cycle_engine.actors import Actor
from cycle_engine.api.auth import Principal
from cycle_engine.errors import AllianceNotFound, CycleNotFound
from cycle_engine.store.tables import CycleRecord
from cycle_engine.store.tables.alliances import (
    AllianceRecord,
    AllianceRoleRecord,
    MembershipRecord,
    OrganisationRecord,
    ParticipationRecord,
    PersonRecord,
)

#: Strongest first: a person who both coordinates and manages an alliance acts as coordinator.
_RANK = {"coordinator": 2, "manager": 1}


@dataclass(frozen=True, kw_only=True)
class Viewer:
    """The signed-in person and their reach."""

    person_id: int
    name: str
    email: str
    timezone: str
    language: str
    organisation_id: int
    organisation_name: str
    roles: dict[int, str] = field(default_factory=dict)
    member_of: frozenset[int] = frozenset()

    def role_in(self, alliance_id: int | None) -> str:
        """`coordinator`, `manager`, or `partner` (the person's organisation only)."""
        if alliance_id is None:
            return "partner"
        return self.roles.get(alliance_id, "partner")

    def manages(self, alliance_id: int | None) -> bool:
        return alliance_id is not None and alliance_id in self.roles

    def coordinates(self, alliance_id: int | None) -> bool:
        return self.role_in(alliance_id) == "coordinator"

    @property
    def alliance_ids(self) -> frozenset[int]:
        return frozenset(self.roles) | self.member_of

    def actor(self, alliance_id: int | None) -> Actor:
        role = self.role_in(alliance_id)
        return Actor(
            name=f"person:{self.email}",
            role=role,
            person_id=self.person_id,
            organisation_id=self.organisation_id if role == "partner" else None,
        )

    def principal(self, alliance_id: int | None) -> Principal:
        """The API principal matching this person's role in the alliance (for shared rules)."""
        role = self.role_in(alliance_id)
        if role == "partner":
            return Principal(
                key_id=0,
                prefix="",
                name=self.email,
                role="partner",
                organisation_id=self.organisation_id,
            )
        return Principal(key_id=0, prefix="", name=self.email, role=role, alliance_id=alliance_id)

    def scope_cycles(self, query: Any) -> Any:
        """`query` over CycleRecord limited to the cycles this person may see."""
        partner = select(ParticipationRecord.cycle_id).where(
            ParticipationRecord.organisation_id == self.organisation_id
        )
        conditions = [col(CycleRecord.id).in_(partner)]
        if self.roles:
            conditions.append(col(CycleRecord.alliance_id).in_(sorted(self.roles)))
        return query.where(or_(*conditions))


def load_viewer(session: Session, person_id: int) -> Viewer | None:
    """The viewer for a person, or None when the person is gone or has left."""
    person = session.get(PersonRecord, person_id)
    if person is None or person.left_on is not None or person.id is None:
        return None
    organisation = session.get(OrganisationRecord, person.organisation_id)
    roles: dict[int, str] = {}
    for grant in session.exec(
        select(AllianceRoleRecord).where(AllianceRoleRecord.person_id == person_id)
    ):
        if _RANK.get(grant.role, 0) > _RANK.get(roles.get(grant.alliance_id, ""), 0):
            roles[grant.alliance_id] = grant.role
    member_of = frozenset(
        session.exec(
            select(MembershipRecord.alliance_id).where(
                MembershipRecord.organisation_id == person.organisation_id
            )
        )
    )
    return Viewer(
        person_id=person.id,
        name=person.name,
        email=person.email,
        timezone=person.timezone,
        language=person.language,
        organisation_id=person.organisation_id,
        organisation_name=organisation.name if organisation else "",
        roles=roles,
        member_of=member_of,
    )


def visible_alliances(session: Session, viewer: Viewer) -> list[AllianceRecord]:
    ids = sorted(viewer.alliance_ids)
    if not ids:
        return []
    return list(
        session.exec(
            select(AllianceRecord)
            .where(col(AllianceRecord.id).in_(ids))
            .order_by(col(AllianceRecord.name))
        )
    )


def visible_alliance(session: Session, viewer: Viewer, alliance_id: int) -> AllianceRecord:
    """The alliance if the viewer belongs to it; raises AllianceNotFound otherwise."""
    alliance = session.get(AllianceRecord, alliance_id)
    if alliance is None or alliance_id not in viewer.alliance_ids:
        raise AllianceNotFound(alliance_id)
    return alliance


def managed_alliance(session: Session, viewer: Viewer, alliance_id: int) -> AllianceRecord:
    """The alliance if the viewer coordinates or manages it; AllianceNotFound otherwise."""
    if not viewer.manages(alliance_id):
        raise AllianceNotFound(alliance_id)
    return visible_alliance(session, viewer, alliance_id)


def visible_cycle(session: Session, viewer: Viewer, cycle_id: int) -> CycleRecord:
    """The cycle if the viewer may see it; raises CycleNotFound otherwise (never 403)."""
    cycle = session.exec(
        viewer.scope_cycles(select(CycleRecord).where(CycleRecord.id == cycle_id))
    ).first()
    if cycle is None:
        raise CycleNotFound(cycle_id)
    assert isinstance(cycle, CycleRecord)
    return cycle
