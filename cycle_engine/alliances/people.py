"""People in partner organisations: registering them, alliance roles (coordinator, manager),
and leaving. When a person leaves, every stage still ahead where they were focal point is
flagged as needing a new one and each affected cycle records a `focal_point_left` event; the
turnover and workload queries let a manager see who carries the work and where people left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, or_, select

from cycle_engine.actors import Actor
from cycle_engine.alliances.alliances import members
from cycle_engine.alliances.common import (
    CycleOp,
    get_alliance,
    get_organisation,
    get_person,
    membership,
    require_choice,
    require_text,
    require_timezone,
)
from cycle_engine.alliances.participation import finished_stages
from cycle_engine.changes import Changes
from cycle_engine.errors import ActionNotAllowed, AlreadyExists, InputConflict, InvalidInput
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.store.events import lock_cycle
from cycle_engine.store.tables import ACTIVE, CycleRecord
from cycle_engine.store.tables.alliances import (
    ALLIANCE_ROLES,
    LANGUAGES,
    AllianceRoleRecord,
    ParticipationRecord,
    PersonRecord,
)


@dataclass(frozen=True, kw_only=True)
class OrganisationTurnover:
    """People of one organisation in a period and how many left (`rate` = left / headcount)."""

    organisation_id: int
    organisation: str
    headcount: int
    left: int
    rate: float
    left_people: tuple[str, ...]
    stages_needing_focal_point: int


@dataclass(frozen=True, kw_only=True)
class OrganisationWorkload:
    """What one organisation carries across the alliance's active cycles."""

    organisation_id: int
    organisation: str
    lead: int
    active: int
    informed: int
    focal_points: dict[str, int]
    needing_focal_point: int


def add_person(
    session: Session,
    *,
    name: str,
    email: str,
    organisation_id: int,
    joined_on: date,
    language: str = "en",
    timezone: str | None = None,
) -> PersonRecord:
    """Register a person; the time zone defaults to their organisation's."""
    name = require_text("name", name, max_length=200)
    email = require_text("email", email, max_length=254).lower()
    if email.count("@") != 1 or "." not in email.split("@")[1]:
        raise InvalidInput("email", f"{email!r} is not an email address")
    require_choice("language", language, LANGUAGES)
    organisation = get_organisation(session, organisation_id)
    zone = timezone or organisation.timezone
    require_timezone("timezone", zone)
    if session.exec(select(PersonRecord).where(PersonRecord.email == email)).first():
        raise AlreadyExists("email", f"{email} is already registered")
    person = PersonRecord(
        name=name,
        email=email,
        language=language,
        timezone=zone,
        organisation_id=organisation_id,
        joined_on=joined_on,
    )
    session.add(person)
    session.flush()
    return person


def grant_role(
    session: Session, *, alliance_id: int, person_id: int, role: str
) -> AllianceRoleRecord:
    """Make a person coordinator or manager of an alliance their organisation belongs to."""
    require_choice("role", role, ALLIANCE_ROLES)
    alliance = get_alliance(session, alliance_id)
    person = get_person(session, person_id)
    if membership(session, alliance_id, person.organisation_id) is None:
        raise InputConflict(
            "person", f"{person.name} works for an organisation outside alliance {alliance.name!r}"
        )
    if person.left_on is not None:
        raise InputConflict("person", f"{person.name} left on {person.left_on.isoformat()}")
    existing = session.exec(
        select(AllianceRoleRecord).where(
            AllianceRoleRecord.alliance_id == alliance_id,
            AllianceRoleRecord.person_id == person_id,
            AllianceRoleRecord.role == role,
        )
    ).first()
    if existing is not None:
        return existing
    grant = AllianceRoleRecord(alliance_id=alliance_id, person_id=person_id, role=role)
    session.add(grant)
    session.flush()
    return grant


def people_with_role(session: Session, alliance_id: int, role: str) -> list[PersonRecord]:
    return list(
        session.exec(
            select(PersonRecord)
            .join(AllianceRoleRecord, col(AllianceRoleRecord.person_id) == PersonRecord.id)
            .where(AllianceRoleRecord.alliance_id == alliance_id, AllianceRoleRecord.role == role)
            .order_by(col(PersonRecord.name))
        )
    )


def record_departure(
    session: Session,
    *,
    person_id: int,
    left_on: date,
    actor: Actor,
    now: datetime,
    changes: Changes,
    spec_of: Callable[[CycleRecord], TemplateSpec],
    note: str | None = None,
) -> dict[int, list[str]]:
    """Mark a person as gone and flag the stages they were focal point of.

    Returns {cycle_id: [flagged stages]}. Stages already finished keep the person as their
    focal point of record; stages ahead (and the current one) need a new one. A deputy who
    leaves is removed from the stages ahead.
    """
    person = get_person(session, person_id)
    if person.left_on is not None:
        raise ActionNotAllowed(f"record that {person.name} left", f"they left on {person.left_on}")
    if left_on < person.joined_on:
        raise InputConflict(
            "left_on",
            f"{left_on.isoformat()} is before {person.name} joined "
            f"({person.joined_on.isoformat()})",
        )
    person.left_on = left_on
    session.add(person)
    rows = session.exec(
        select(ParticipationRecord).where(
            or_(
                ParticipationRecord.focal_point_id == person_id,
                ParticipationRecord.deputy_id == person_id,
            )
        )
    ).all()
    by_cycle: dict[int, list[ParticipationRecord]] = {}
    for row in rows:
        by_cycle.setdefault(row.cycle_id, []).append(row)
    flagged: dict[int, list[str]] = {}
    for cycle_id in sorted(by_cycle):
        cycle = lock_cycle(session, cycle_id)
        if cycle.status != ACTIVE:
            continue
        spec = spec_of(cycle)
        done = finished_stages(spec, cycle)
        stages: list[str] = []
        deputy_of: list[str] = []
        for row in by_cycle[cycle_id]:
            if row.stage in done:
                continue
            if row.focal_point_id == person_id:
                row.needs_focal_point = True
                stages.append(row.stage)
            if row.deputy_id == person_id:
                row.deputy_id = None
                deputy_of.append(row.stage)
            row.updated_at = now
            session.add(row)
        if not stages and not deputy_of:
            continue
        op = CycleOp(session=session, cycle=cycle, spec=spec, actor=actor, now=now, changes=changes)
        op.emit(
            "focal_point_left",
            {
                "person_id": person_id,
                "person": person.name,
                "organisation_id": person.organisation_id,
                "left_on": left_on.isoformat(),
                "stages": sorted(stages),
                "deputy_of": sorted(deputy_of),
            },
            note=note,
        )
        flagged[cycle_id] = sorted(stages)
    return flagged


def turnover(
    session: Session, alliance_id: int, *, since: date | None = None, until: date | None = None
) -> list[OrganisationTurnover]:
    """Per member organisation: people on staff in [since, until] and those who left in it."""
    if since is not None and until is not None and until < since:
        raise InvalidInput("until", f"{until} is before {since}")
    result: list[OrganisationTurnover] = []
    for member in members(session, alliance_id):
        org = member.organisation
        assert org.id is not None
        people = session.exec(
            select(PersonRecord).where(PersonRecord.organisation_id == org.id)
        ).all()
        on_staff = [
            p
            for p in people
            if (until is None or p.joined_on <= until)
            and (since is None or p.left_on is None or p.left_on >= since)
        ]
        left = [
            p for p in on_staff if p.left_on is not None and (until is None or p.left_on <= until)
        ]
        flagged = session.exec(
            select(ParticipationRecord)
            .join(CycleRecord, col(CycleRecord.id) == ParticipationRecord.cycle_id)
            .where(
                ParticipationRecord.organisation_id == org.id,
                col(ParticipationRecord.needs_focal_point).is_(True),
                CycleRecord.alliance_id == alliance_id,
                CycleRecord.status == ACTIVE,
            )
        ).all()
        result.append(
            OrganisationTurnover(
                organisation_id=org.id,
                organisation=org.name,
                headcount=len(on_staff),
                left=len(left),
                rate=round(len(left) / len(on_staff), 3) if on_staff else 0.0,
                left_people=tuple(sorted(p.name for p in left)),
                stages_needing_focal_point=len(flagged),
            )
        )
    return result


def workload(session: Session, alliance_id: int) -> list[OrganisationWorkload]:
    """Who carries the work: participation levels and focal points on active cycles."""
    get_alliance(session, alliance_id)
    rows = session.exec(
        select(ParticipationRecord)
        .join(CycleRecord, col(CycleRecord.id) == ParticipationRecord.cycle_id)
        .where(CycleRecord.alliance_id == alliance_id, CycleRecord.status == ACTIVE)
    ).all()
    result: list[OrganisationWorkload] = []
    for member in members(session, alliance_id):
        org = member.organisation
        mine = [r for r in rows if r.organisation_id == org.id]
        if not mine:
            continue
        focal: dict[str, int] = {}
        for row in mine:
            if row.focal_point_id is not None and not row.needs_focal_point:
                person = session.get(PersonRecord, row.focal_point_id)
                if person is not None:
                    focal[person.name] = focal.get(person.name, 0) + 1
        assert org.id is not None
        result.append(
            OrganisationWorkload(
                organisation_id=org.id,
                organisation=org.name,
                lead=sum(r.level == "lead" for r in mine),
                active=sum(r.level == "active" for r in mine),
                informed=sum(r.level == "informed" for r in mine),
                focal_points=dict(sorted(focal.items())),
                needing_focal_point=sum(r.needs_focal_point for r in mine),
            )
        )
    result.sort(key=lambda w: (-w.lead, -w.active, w.organisation))
    return result
