"""`AllianceRegistry` (`engine.alliances`): registering alliances, organisations and people,
recording people leaving, and the turnover and workload queries; `credentials` holds the API keys
and dashboard sessions callers sign in with, `keys` administers keys within a caller's reach,
`corrections` updates records and role grants, `removals` removes or archives them,
`onboarding` imports a partner list. Each command is one transaction.

Queries and commands take an optional `reach` (see `alliances.reach`): rows out of it are not
found, and a command checks it inside its own transaction.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from cycle_engine.actors import SYSTEM, Actor
from cycle_engine.alliances import alliances as registry
from cycle_engine.alliances import people
from cycle_engine.alliances.common import get_alliance, get_organisation
from cycle_engine.alliances.corrections import Corrections
from cycle_engine.alliances.credentials import Credentials
from cycle_engine.alliances.keys import ApiKeys
from cycle_engine.alliances.onboarding import Onboarding
from cycle_engine.alliances.reach import Reach, sees_alliance, sees_organisation
from cycle_engine.alliances.removals import Removals
from cycle_engine.changes import Changes
from cycle_engine.clock import Clock
from cycle_engine.errors import AllianceNotFound, OrganisationNotFound, PersonNotFound
from cycle_engine.store.db import Database
from cycle_engine.store.tables.alliances import (
    AllianceRecord,
    AllianceRoleRecord,
    MembershipRecord,
    OrganisationRecord,
    PersonRecord,
)
from cycle_engine.store.templates import TemplateStore


class AllianceRegistry:
    """Alliances, organisations, memberships, people and their alliance roles."""

    def __init__(
        self, *, db: Database, clock: Clock, templates: TemplateStore, changes: Changes
    ) -> None:
        self.db = db
        self.clock = clock
        self.templates = templates
        self.changes = changes
        self.credentials = Credentials(db=db, clock=clock)
        self.keys = ApiKeys(db=db, clock=clock)
        self.corrections = Corrections(db=db, clock=clock, templates=templates, changes=changes)
        self.removals = Removals(db=db, clock=clock, templates=templates, changes=changes)
        self.onboarding = Onboarding(db=db, clock=clock)

    def _today(self) -> date:
        return self.clock.now().date()

    # -- alliances and organisations ---------------------------------------------------

    def create_alliance(
        self,
        name: str,
        theme: str,
        *,
        timezone: str = "UTC",
        language: str = "en",
        working_hours_start: int = 9,
        working_hours_end: int = 17,
        weekend_days: str = "5,6",
    ) -> AllianceRecord:
        """Register an alliance. Raises InvalidInput (bad zone, language, hours; used name)."""
        with self.db.transaction() as session:
            return registry.create_alliance(
                session,
                self.clock.now(),
                name=name,
                theme=theme,
                timezone=timezone,
                language=language,
                working_hours_start=working_hours_start,
                working_hours_end=working_hours_end,
                weekend_days=weekend_days,
            )

    def get_alliance(self, alliance_id: int, *, reach: Reach | None = None) -> AllianceRecord:
        """The alliance; raises AllianceNotFound (also when it is not in `reach`)."""
        with self.db.read_session() as session:
            _require_alliance(session, reach, alliance_id)
            return get_alliance(session, alliance_id)

    def find_alliance(self, name: str) -> AllianceRecord | None:
        with self.db.read_session() as session:
            return registry.find_alliance(session, name)

    def list_alliances(self, *, reach: Reach | None = None) -> list[AllianceRecord]:
        """Every alliance (in `reach`), by name."""
        query = select(AllianceRecord).order_by(col(AllianceRecord.name))
        if reach is not None:
            query = query.where(reach.alliances())
        with self.db.read_session() as session:
            return list(session.exec(query))

    def add_organisation(
        self,
        name: str,
        kind: str,
        country: str,
        *,
        timezone: str = "UTC",
        alliance_id: int | None = None,
        reach: Reach | None = None,
    ) -> OrganisationRecord:
        """Register an organisation (kind: research, ngo, donor, government, private, local),
        seated at once in `alliance_id` when given (which must be in `reach`)."""
        with self.db.transaction() as session:
            if alliance_id is not None:
                _require_alliance(session, reach, alliance_id)
            organisation = registry.add_organisation(
                session,
                self.clock.now(),
                name=name,
                kind=kind,
                country=country,
                timezone=timezone,
            )
            if alliance_id is not None:
                assert organisation.id is not None
                registry.join_alliance(
                    session,
                    alliance_id=alliance_id,
                    organisation_id=organisation.id,
                    joined_on=self._today(),
                )
            return organisation

    def get_organisation(
        self, organisation_id: int, *, reach: Reach | None = None
    ) -> OrganisationRecord:
        """The organisation; raises OrganisationNotFound (also when it is not in `reach`)."""
        with self.db.read_session() as session:
            _require_organisation(session, reach, organisation_id)
            return get_organisation(session, organisation_id)

    def list_organisations(self, *, reach: Reach | None = None) -> list[OrganisationRecord]:
        """Every organisation (in `reach`), by name."""
        query = select(OrganisationRecord).order_by(col(OrganisationRecord.name))
        if reach is not None:
            query = query.where(reach.organisations(OrganisationRecord.id))
        with self.db.read_session() as session:
            return list(session.exec(query))

    def join_alliance(
        self,
        alliance_id: int,
        organisation_id: int,
        *,
        joined_on: date | None = None,
        works_with_id: int | None = None,
        reach: Reach | None = None,
    ) -> MembershipRecord:
        """Seat an organisation in an alliance (it may sit in several).

        With `reach`, the alliance and the organisation must both be in it: only someone who
        may act for an organisation (its own people, coordinators of an alliance it sits in,
        admins) seats it elsewhere, so nobody takes over another alliance's organisation and
        its people. Raises AllianceNotFound, OrganisationNotFound (also out of `reach`, alike
        for `works_with_id`), InvalidInput (already seated; `works_with_id` not a member).
        """
        with self.db.transaction() as session:
            _require_alliance(session, reach, alliance_id)
            _require_organisation(session, reach, organisation_id)
            if works_with_id is not None:
                _require_organisation(session, reach, works_with_id)
            return registry.join_alliance(
                session,
                alliance_id=alliance_id,
                organisation_id=organisation_id,
                joined_on=joined_on or self._today(),
                works_with_id=works_with_id,
            )

    def alliance_members(self, alliance_id: int) -> list[registry.Member]:
        with self.db.read_session() as session:
            return registry.members(session, alliance_id)

    def alliances_of(self, organisation_id: int) -> list[AllianceRecord]:
        with self.db.read_session() as session:
            return registry.alliances_of(session, organisation_id)

    # -- people ------------------------------------------------------------------------

    def add_person(
        self,
        name: str,
        email: str,
        organisation_id: int,
        *,
        joined_on: date | None = None,
        language: str | None = None,
        timezone: str | None = None,
        reach: Reach | None = None,
    ) -> PersonRecord:
        """Register a person in an organisation (time zone defaults to the organisation's,
        language to that of the alliance it sits in, else English; the organisation in
        `reach`)."""
        with self.db.transaction() as session:
            _require_organisation(session, reach, organisation_id)
            if language is None:
                seats = registry.alliances_of(session, organisation_id)
                language = min(seats, key=lambda a: a.id or 0).language if seats else "en"
            return people.add_person(
                session,
                name=name,
                email=email,
                organisation_id=organisation_id,
                joined_on=joined_on or self._today(),
                language=language,
                timezone=timezone,
            )

    def get_person(self, person_id: int, *, reach: Reach | None = None) -> PersonRecord:
        """The person; raises PersonNotFound (also when their organisation is not in `reach`)."""
        with self.db.read_session() as session:
            return _require_person(session, reach, person_id)

    def list_people(
        self,
        *,
        organisation_id: int | None = None,
        alliance_id: int | None = None,
        reach: Reach | None = None,
    ) -> list[PersonRecord]:
        """People (of one organisation, of an alliance's members, in `reach`), by name."""
        query = select(PersonRecord)
        if reach is not None:
            query = query.where(reach.organisations(PersonRecord.organisation_id))
        if organisation_id is not None:
            query = query.where(PersonRecord.organisation_id == organisation_id)
        if alliance_id is not None:
            query = query.join(
                MembershipRecord,
                col(MembershipRecord.organisation_id) == PersonRecord.organisation_id,
            ).where(MembershipRecord.alliance_id == alliance_id)
        with self.db.read_session() as session:
            return list(session.exec(query.order_by(col(PersonRecord.name))))

    def grant_role(
        self, alliance_id: int, person_id: int, role: str, *, reach: Reach | None = None
    ) -> AllianceRoleRecord:
        """Make a person coordinator or manager of an alliance (both in `reach`)."""
        with self.db.transaction() as session:
            _require_alliance(session, reach, alliance_id)
            _require_person(session, reach, person_id)
            return people.grant_role(
                session, alliance_id=alliance_id, person_id=person_id, role=role
            )

    def alliance_roles_of(self, person_id: int) -> list[AllianceRoleRecord]:
        """The coordinator and manager roles a person holds, in every alliance."""
        with self.db.read_session() as session:
            return list(
                session.exec(
                    select(AllianceRoleRecord).where(AllianceRoleRecord.person_id == person_id)
                )
            )

    def people_with_role(self, alliance_id: int, role: str) -> list[PersonRecord]:
        with self.db.read_session() as session:
            get_alliance(session, alliance_id)
            return people.people_with_role(session, alliance_id, role)

    def person_left(
        self,
        person_id: int,
        *,
        left_on: date | None = None,
        actor: Actor = SYSTEM,
        note: str | None = None,
        reach: Reach | None = None,
    ) -> dict[int, list[str]]:
        """Record that a person (in `reach`) left; returns {cycle_id: stages now needing a
        focal point}."""
        now = self.clock.now()
        with self.db.transaction() as session:
            _require_person(session, reach, person_id)
            return people.record_departure(
                session,
                person_id=person_id,
                left_on=left_on or now.date(),
                actor=actor,
                now=now,
                changes=self.changes,
                note=note,
                spec_of=lambda cycle: self.templates.spec(session, cycle.template_id),
            )

    def turnover(
        self, alliance_id: int, *, since: date | None = None, until: date | None = None
    ) -> list[people.OrganisationTurnover]:
        with self.db.read_session() as session:
            return people.turnover(session, alliance_id, since=since, until=until)

    def workload(self, alliance_id: int) -> list[people.OrganisationWorkload]:
        with self.db.read_session() as session:
            return people.workload(session, alliance_id)


def _require_alliance(session: Session, reach: Reach | None, alliance_id: int) -> None:
    if reach is not None and not sees_alliance(session, reach, alliance_id):
        raise AllianceNotFound(alliance_id)


def _require_organisation(session: Session, reach: Reach | None, organisation_id: int) -> None:
    if reach is not None and not sees_organisation(session, reach, organisation_id):
        raise OrganisationNotFound(organisation_id)


def _require_person(session: Session, reach: Reach | None, person_id: int) -> PersonRecord:
    person = session.get(PersonRecord, person_id)
    if person is None or (
        reach is not None and not sees_organisation(session, reach, person.organisation_id)
    ):
        raise PersonNotFound(person_id)
    return person
