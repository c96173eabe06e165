"""`AllianceRegistry` (`engine.alliances`): registering alliances, organisations and people,
recording people leaving, and the turnover and workload queries. Each command is one
transaction."""

from __future__ import annotations

from datetime import date

from sqlmodel import col, select

from cycle_engine.actors import SYSTEM, Actor
from cycle_engine.alliances import alliances as registry
from cycle_engine.alliances import people
from cycle_engine.alliances.common import get_alliance, get_person
from cycle_engine.changes import Changes
from cycle_engine.clock import Clock
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

    def get_alliance(self, alliance_id: int) -> AllianceRecord:
        with self.db.read_session() as session:
            return get_alliance(session, alliance_id)

    def find_alliance(self, name: str) -> AllianceRecord | None:
        with self.db.read_session() as session:
            return registry.find_alliance(session, name)

    def list_alliances(self) -> list[AllianceRecord]:
        with self.db.read_session() as session:
            return list(session.exec(select(AllianceRecord).order_by(col(AllianceRecord.name))))

    def add_organisation(
        self, name: str, kind: str, country: str, *, timezone: str = "UTC"
    ) -> OrganisationRecord:
        """Register an organisation (kind: research, ngo, donor, government, private, local)."""
        with self.db.transaction() as session:
            return registry.add_organisation(
                session,
                self.clock.now(),
                name=name,
                kind=kind,
                country=country,
                timezone=timezone,
            )

    def list_organisations(self) -> list[OrganisationRecord]:
        with self.db.read_session() as session:
            return list(
                session.exec(select(OrganisationRecord).order_by(col(OrganisationRecord.name)))
            )

    def join_alliance(
        self,
        alliance_id: int,
        organisation_id: int,
        *,
        joined_on: date | None = None,
        works_with_id: int | None = None,
    ) -> MembershipRecord:
        """Seat an organisation in an alliance (it may sit in several)."""
        with self.db.transaction() as session:
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
        language: str = "en",
        timezone: str | None = None,
    ) -> PersonRecord:
        """Register a person in an organisation (time zone defaults to the organisation's)."""
        with self.db.transaction() as session:
            return people.add_person(
                session,
                name=name,
                email=email,
                organisation_id=organisation_id,
                joined_on=joined_on or self._today(),
                language=language,
                timezone=timezone,
            )

    def get_person(self, person_id: int) -> PersonRecord:
        with self.db.read_session() as session:
            return get_person(session, person_id)

    def list_people(
        self, *, organisation_id: int | None = None, alliance_id: int | None = None
    ) -> list[PersonRecord]:
        query = select(PersonRecord)
        if organisation_id is not None:
            query = query.where(PersonRecord.organisation_id == organisation_id)
        if alliance_id is not None:
            query = query.join(
                MembershipRecord,
                col(MembershipRecord.organisation_id) == PersonRecord.organisation_id,
            ).where(MembershipRecord.alliance_id == alliance_id)
        with self.db.read_session() as session:
            return list(session.exec(query.order_by(col(PersonRecord.name))))

    def grant_role(self, alliance_id: int, person_id: int, role: str) -> AllianceRoleRecord:
        """Make a person coordinator or manager of an alliance."""
        with self.db.transaction() as session:
            return people.grant_role(
                session, alliance_id=alliance_id, person_id=person_id, role=role
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
    ) -> dict[int, list[str]]:
        """Record that a person left; returns {cycle_id: stages now needing a focal point}."""
        now = self.clock.now()
        with self.db.transaction() as session:
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
