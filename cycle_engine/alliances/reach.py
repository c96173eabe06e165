"""Reach: which alliances, cycles, organisations and people a caller may see, and on which stages
it may act, as data the engine filters and checks by.

Who gets which reach is decided in one place outside the engine (`api/access.py`, for API keys
and dashboard sessions alike); the engine applies it. Queries filter by it in SQL, so a row out
of reach is simply not found. Commands check it inside their own transaction, after the cycle is
locked (`check_cycle_command`), together with the caller's expected version: nothing a command is
guarded by can change between the check and the change.

    everything       every alliance, cycle, organisation and person (an administrator)
    alliance_ids     alliances the caller coordinates or manages: all their cycles, member
                     organisations and people; on their cycles it acts as its role permits
    organisation_id  the caller's own organisation: itself, its people, the alliances it sits in
                     and, read-only, every cycle of those alliances (members follow their
                     alliance's cycles and reports, issue 12 item 5) and any cycle it takes part
                     in; on a cycle of an alliance it does not manage the caller acts only while
                     its organisation leads or takes active part in the current stage

Objects a command names in its body are checked here too, in the command's transaction, so the
API and the dashboard refuse the same things: an organisation is seated in an alliance only by
someone who reaches it (`sees_organisation`: it is their own, or a member of an alliance they
manage; admins reach all), and the organisations and people a command on a cycle names must be
in reach or belong to a member of the cycle's alliance (`check_named`). Anything else is not
found, exactly like a missing id: an error never names an object out of the caller's reach.
Work is credited to the caller's own organisation unless it manages the cycle's alliance
(`credit_refusal`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, or_, true
from sqlmodel import Session, col, select

from cycle_engine.actors import Actor
from cycle_engine.errors import (
    ConflictError,
    CycleNotFound,
    NotPermitted,
    OrganisationNotFound,
    PersonNotFound,
)
from cycle_engine.store.tables import CycleRecord
from cycle_engine.store.tables.alliances import (
    AllianceRecord,
    MembershipRecord,
    ParticipationRecord,
    PersonRecord,
)

#: Participation levels that let a partner act on a stage.
ACTING_LEVELS = frozenset({"lead", "active"})


@dataclass(frozen=True, kw_only=True)
class Reach:
    """What one caller may see and act on (see the module docstring)."""

    everything: bool = False
    alliance_ids: frozenset[int] = frozenset()
    organisation_id: int | None = None

    def manages(self, alliance_id: int | None) -> bool:
        """Whether every cycle, member and person of the alliance is in reach."""
        return self.everything or (alliance_id is not None and alliance_id in self.alliance_ids)

    def within(self, alliance_id: int) -> Reach:
        """This reach narrowed to one alliance the caller manages (nothing, if it does not)."""
        if not self.manages(alliance_id):
            return Reach()
        return Reach(alliance_ids=frozenset({alliance_id}))

    def cycles(self, alliance_id: int | None = None) -> ColumnElement[bool]:
        """A condition on `CycleRecord`: the cycles in reach (of `alliance_id`, when given): a
        member organisation reads every cycle of its alliances; acting is `stage_refusal`'s."""
        if self.manages(alliance_id):
            return true()
        conditions: list[ColumnElement[bool]] = []
        if self.alliance_ids:
            conditions.append(col(CycleRecord.alliance_id).in_(sorted(self.alliance_ids)))
        if self.organisation_id is not None:
            seats = select(MembershipRecord.alliance_id).where(
                MembershipRecord.organisation_id == self.organisation_id
            )
            taking_part = select(ParticipationRecord.cycle_id).where(
                ParticipationRecord.organisation_id == self.organisation_id
            )
            conditions.append(col(CycleRecord.alliance_id).in_(seats))
            conditions.append(col(CycleRecord.id).in_(taking_part))
        return or_(*conditions) if conditions else false()

    def alliances(self) -> ColumnElement[bool]:
        """A condition on `AllianceRecord`: those managed, and those the organisation sits in."""
        if self.everything:
            return true()
        conditions: list[ColumnElement[bool]] = []
        if self.alliance_ids:
            conditions.append(col(AllianceRecord.id).in_(sorted(self.alliance_ids)))
        if self.organisation_id is not None:
            seats = select(MembershipRecord.alliance_id).where(
                MembershipRecord.organisation_id == self.organisation_id
            )
            conditions.append(col(AllianceRecord.id).in_(seats))
        return or_(*conditions) if conditions else false()

    def organisations(self, column: Any) -> ColumnElement[bool]:
        """A condition on an organisation id `column`: own organisation, members of managed
        alliances (a person's `organisation_id` as much as an organisation's `id`)."""
        if self.everything:
            return true()
        conditions: list[ColumnElement[bool]] = []
        if self.organisation_id is not None:
            conditions.append(col(column) == self.organisation_id)
        if self.alliance_ids:
            members = select(MembershipRecord.organisation_id).where(
                col(MembershipRecord.alliance_id).in_(sorted(self.alliance_ids))
            )
            conditions.append(col(column).in_(members))
        return or_(*conditions) if conditions else false()


#: The reach of the engine itself and of administrators.
EVERYTHING = Reach(everything=True)


def sees_cycle(session: Session, reach: Reach, cycle: CycleRecord) -> bool:
    if reach.manages(cycle.alliance_id):
        return True
    query = select(CycleRecord.id).where(CycleRecord.id == cycle.id, reach.cycles())
    return session.exec(query).first() is not None


def sees_alliance(session: Session, reach: Reach, alliance_id: int) -> bool:
    if reach.manages(alliance_id):
        return True
    query = select(AllianceRecord.id).where(AllianceRecord.id == alliance_id, reach.alliances())
    return session.exec(query).first() is not None


def sees_organisation(session: Session, reach: Reach, organisation_id: int) -> bool:
    if reach.everything or organisation_id == reach.organisation_id:
        return True
    if not reach.alliance_ids:
        return False
    seat = select(MembershipRecord.id).where(
        MembershipRecord.organisation_id == organisation_id,
        col(MembershipRecord.alliance_id).in_(sorted(reach.alliance_ids)),
    )
    return session.exec(seat).first() is not None


def _is_member(session: Session, alliance_id: int | None, organisation_id: int) -> bool:
    if alliance_id is None:
        return False
    seat = select(MembershipRecord.id).where(
        MembershipRecord.alliance_id == alliance_id,
        MembershipRecord.organisation_id == organisation_id,
    )
    return session.exec(seat).first() is not None


def check_named(
    session: Session,
    reach: Reach | None,
    cycle: CycleRecord,
    *,
    organisation_ids: Iterable[int] = (),
    person_ids: Iterable[int] = (),
) -> None:
    """Check the organisations and people a command on `cycle` names (a product's author, a
    focal point, the organisations of a learning): each must be in `reach`, or a member (or
    work for a member) of the cycle's alliance, which the caller reaches with the cycle.

    Raises:
        OrganisationNotFound, PersonNotFound: one is missing or out of reach (the same answer).
    """
    if reach is None or reach.everything:
        return
    for organisation_id in dict.fromkeys(organisation_ids):
        if not (
            sees_organisation(session, reach, organisation_id)
            or _is_member(session, cycle.alliance_id, organisation_id)
        ):
            raise OrganisationNotFound(organisation_id)
    for person_id in dict.fromkeys(person_ids):
        person = session.get(PersonRecord, person_id)
        if person is None or not (
            sees_organisation(session, reach, person.organisation_id)
            or _is_member(session, cycle.alliance_id, person.organisation_id)
        ):
            raise PersonNotFound(person_id)


def credit_refusal(reach: Reach | None, cycle: CycleRecord, organisation_id: int) -> str | None:
    """Why the caller may not credit work on `cycle` to `organisation_id`, or None when it may.

    Whoever manages the cycle's alliance credits any member; anyone else (a partner) only its
    own organisation.
    """
    if reach is None or reach.manages(cycle.alliance_id):
        return None
    if organisation_id == reach.organisation_id:
        return None
    return "a partner adds work of its own organisation only"


#: Roles that organise cycles: assign roles on stages, move due dates.
ORGANISERS = frozenset({"system", "admin", "coordinator"})


def role_refusal(actor: Actor, *, organisers_only: bool) -> str | None:
    """Why the actor's role may not run a command on a cycle at all, or None when it may.

    Managers follow cycles and never change them; organiser-only commands (roles, due dates)
    are for coordinators (and admins); partners run the others on the stages they carry.
    """
    if actor.role == "manager":
        return "managers follow cycles; coordinators and partners change them"
    if organisers_only and actor.role not in ORGANISERS:
        return f"only a coordinator (or an admin) may do this (you: {actor.role})"
    return None


def _own_roles(session: Session, reach: Reach, cycle: CycleRecord) -> list[tuple[str, str]]:
    """(stage, level) of every role the caller's organisation holds on the cycle."""
    if reach.organisation_id is None or cycle.id is None:
        return []
    rows = session.exec(
        select(ParticipationRecord.stage, ParticipationRecord.level).where(
            ParticipationRecord.cycle_id == cycle.id,
            ParticipationRecord.organisation_id == reach.organisation_id,
        )
    ).all()
    return [(stage, level) for stage, level in rows]


def _stage_refusal(reach: Reach, cycle: CycleRecord, roles: list[tuple[str, str]]) -> str | None:
    if any(stage == cycle.state and level in ACTING_LEVELS for stage, level in roles):
        return None
    return (
        f"organisation {reach.organisation_id} does not take part in stage {cycle.state!r} "
        "(lead or active)"
    )


def stage_refusal(session: Session, reach: Reach, cycle: CycleRecord) -> str | None:
    """Why the caller may not act on the cycle's current stage, or None when it may.

    On cycles of alliances it manages a caller acts as its role permits; elsewhere only while its
    organisation leads or takes active part in the current stage.
    """
    if reach.manages(cycle.alliance_id) or cycle.current_stage_id is None:
        return None
    return _stage_refusal(reach, cycle, _own_roles(session, reach, cycle))


def reader_refusal(reach: Reach, cycle: CycleRecord) -> str:
    """Why a member whose organisation has no role at all on the cycle may not act on it: it
    reads its alliance's cycles, and acts only where its organisation takes part (a 403, where
    a participant not on the current stage gets a 409 that depends on the stage)."""
    return (
        f"organisation {reach.organisation_id} has no role in cycle {cycle.id}: members of an "
        "alliance read its cycles and act only where their organisation leads or takes "
        "active part"
    )


def check_cycle_command(
    session: Session,
    cycle: CycleRecord,
    *,
    reach: Reach | None,
    expected_version: int | None,
    action: str = "act on the cycle",
) -> str | None:
    """The checks that guard a command on a cycle, run on the locked cycle in its transaction.

    Returns why the caller may not act on the current stage (the caller raises its own refusal),
    or None.

    Raises:
        CycleNotFound: the cycle is out of reach.
        ConflictError: `expected_version` is not the cycle's version.
        NotPermitted: the caller reads the cycle only as a member of its alliance (its
            organisation has no role on it): `action` is refused whatever the stage.
    """
    assert cycle.id is not None
    if reach is not None and not sees_cycle(session, reach, cycle):
        raise CycleNotFound(cycle.id)
    if expected_version is not None and expected_version != cycle.version:
        raise ConflictError(cycle.id, expected_version, cycle.version)
    if reach is None or reach.manages(cycle.alliance_id):
        return None
    roles = _own_roles(session, reach, cycle)
    if not roles:
        raise NotPermitted(action, reader_refusal(reach, cycle))
    return None if cycle.current_stage_id is None else _stage_refusal(reach, cycle, roles)
