"""`Corrections` (`engine.alliances.corrections`): putting an alliance's records right.

    update      alliances, organisations (name, kind, country, zone), seats (the agency an
                organisation works with, the date it joined), people (name, address, language,
                zone), each checked as on creation
    role grants listed and revoked

Removing and archiving are in `alliances.removals`.

Every command checks the caller's reach in its own transaction (a record out of reach is not
found) and writes one line per alliance concerned in the alliance's history (`history`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, SQLModel, col, select

from cycle_engine.actors import Actor
from cycle_engine.alliances import history
from cycle_engine.alliances.alliances import _weekend
from cycle_engine.alliances.common import (
    get_alliance,
    get_organisation,
    membership,
    require_choice,
    require_text,
    require_timezone,
)
from cycle_engine.alliances.reach import Reach, sees_alliance, sees_organisation
from cycle_engine.changes import Changes
from cycle_engine.clock import Clock
from cycle_engine.errors import (
    AllianceNotFound,
    AlreadyExists,
    InputConflict,
    InvalidInput,
    NotFound,
    OrganisationNotFound,
    PersonNotFound,
)
from cycle_engine.store.db import Database
from cycle_engine.store.tables.alliances import (
    LANGUAGES,
    ORGANISATION_KINDS,
    AllianceRecord,
    AllianceRoleRecord,
    MembershipRecord,
    OrganisationRecord,
    PersonRecord,
)
from cycle_engine.store.tables.history import AllianceEventRecord
from cycle_engine.store.templates import TemplateStore


class Corrections:
    """Update an alliance's records; list and revoke role grants; read the alliance's history."""

    def __init__(
        self, *, db: Database, clock: Clock, templates: TemplateStore, changes: Changes
    ) -> None:
        self.db = db
        self.clock = clock
        self.templates = templates
        self.changes = changes

    # -- updates -------------------------------------------------------------------------

    def update_alliance(
        self, alliance_id: int, values: dict[str, Any], *, actor: Actor, reach: Reach
    ) -> AllianceRecord:
        """Change some of name, theme, timezone, language, working hours, weekend days."""
        with self.db.transaction() as session:
            require_alliance(session, reach, alliance_id)
            alliance = get_alliance(session, alliance_id)
            before = alliance.model_dump()
            if "name" in values:
                name = require_text("name", values["name"], max_length=200)
                taken = session.exec(select(AllianceRecord).where(AllianceRecord.name == name))
                if any(a.id != alliance_id for a in taken):
                    raise AlreadyExists("name", f"an alliance named {name!r} already exists")
                alliance.name = name
            if "theme" in values:
                alliance.theme = require_text("theme", values["theme"])
            if "timezone" in values:
                require_timezone("timezone", values["timezone"])
                alliance.timezone = values["timezone"]
            if "language" in values:
                alliance.language = require_choice("language", values["language"], LANGUAGES)
            if "weekend_days" in values:
                alliance.weekend_days = _weekend(values["weekend_days"])
            start = values.get("working_hours_start", alliance.working_hours_start)
            end = values.get("working_hours_end", alliance.working_hours_end)
            if not 0 <= start < end <= 24:
                raise InvalidInput(
                    "working_hours", f"need 0 <= start < end <= 24, got {start}-{end}"
                )
            alliance.working_hours_start, alliance.working_hours_end = start, end
            session.add(alliance)
            self._note_changes(
                session,
                "alliance_updated",
                f"alliance:{alliance_id}",
                before,
                alliance,
                actor,
                alliance_id=alliance_id,
            )
            return alliance

    def update_organisation(
        self, organisation_id: int, values: dict[str, Any], *, actor: Actor, reach: Reach
    ) -> OrganisationRecord:
        """Change some of an organisation's name, kind, country and time zone."""
        with self.db.transaction() as session:
            require_organisation(session, reach, organisation_id)
            organisation = get_organisation(session, organisation_id)
            before = organisation.model_dump()
            if "name" in values:
                name = require_text("name", values["name"], max_length=200)
                query = select(OrganisationRecord).where(OrganisationRecord.name == name)
                if any(o.id != organisation_id for o in session.exec(query)):
                    raise AlreadyExists("name", f"an organisation named {name!r} already exists")
                organisation.name = name
            if "kind" in values:
                organisation.kind = require_choice("kind", values["kind"], ORGANISATION_KINDS)
            if "country" in values:
                organisation.country = require_text("country", values["country"], max_length=100)
            if "timezone" in values:
                require_timezone("timezone", values["timezone"])
                organisation.timezone = values["timezone"]
            session.add(organisation)
            self._note_changes(
                session,
                "organisation_updated",
                f"organisation:{organisation_id}",
                before,
                organisation,
                actor,
                organisation_id=organisation_id,
            )
            return organisation

    def update_member(
        self,
        alliance_id: int,
        organisation_id: int,
        values: dict[str, Any],
        *,
        actor: Actor,
        reach: Reach,
    ) -> MembershipRecord:
        """Change a seat: `works_with_id` (the agency it works with; None to unlink) and
        `joined_on`. The agency must be another member of the same alliance."""
        with self.db.transaction() as session:
            require_alliance(session, reach, alliance_id)
            alliance = get_alliance(session, alliance_id)
            seat = membership(session, alliance_id, organisation_id)
            if seat is None or not sees_organisation(session, reach, organisation_id):
                raise NotFound("member", organisation_id)
            before = seat.model_dump()
            if "works_with_id" in values:
                agency = values["works_with_id"]
                if agency is not None:
                    partner = session.get(OrganisationRecord, agency)
                    if partner is None or membership(session, alliance_id, agency) is None:
                        raise InputConflict(
                            "works_with_id",
                            f"organisation {agency} is not a member of alliance {alliance.name!r}",
                        )
                    if agency == organisation_id:
                        raise InputConflict(
                            "works_with_id", "an organisation cannot work with itself"
                        )
                seat.works_with_id = agency
            if "joined_on" in values and values["joined_on"] is not None:
                seat.joined_on = values["joined_on"]
            session.add(seat)
            self._note_changes(
                session,
                "member_updated",
                f"organisation:{organisation_id}",
                before,
                seat,
                actor,
                alliance_id=alliance_id,
            )
            return seat

    def update_person(
        self, person_id: int, values: dict[str, Any], *, actor: Actor, reach: Reach
    ) -> PersonRecord:
        """Change some of a person's name, email, language and time zone."""
        with self.db.transaction() as session:
            person = require_person(session, reach, person_id)
            before = person.model_dump()
            if "name" in values:
                person.name = require_text("name", values["name"], max_length=200)
            if "email" in values:
                email = require_text("email", values["email"], max_length=254).lower()
                if email.count("@") != 1 or "." not in email.split("@")[1]:
                    raise InvalidInput("email", f"{email!r} is not an email address")
                query = select(PersonRecord).where(func.lower(PersonRecord.email) == email)
                if any(p.id != person_id for p in session.exec(query)):
                    raise AlreadyExists("email", f"{email} is already registered")
                person.email = email
            if "language" in values:
                person.language = require_choice("language", values["language"], LANGUAGES)
            if "timezone" in values:
                require_timezone("timezone", values["timezone"])
                person.timezone = values["timezone"]
            session.add(person)
            self._note_changes(
                session,
                "person_updated",
                f"person:{person_id}",
                before,
                person,
                actor,
                organisation_id=person.organisation_id,
            )
            return person

    # -- role grants and history -----------------------------------------------------------

    def roles(self, alliance_id: int, *, reach: Reach) -> list[AllianceRoleRecord]:
        """The alliance's coordinator and manager grants, oldest first."""
        with self.db.read_session() as session:
            require_alliance(session, reach, alliance_id)
            query = (
                select(AllianceRoleRecord)
                .where(AllianceRoleRecord.alliance_id == alliance_id)
                .order_by(col(AllianceRoleRecord.id))
            )
            return list(session.exec(query))

    def revoke_role(self, alliance_id: int, grant_id: int, *, actor: Actor, reach: Reach) -> None:
        """Take a role grant back; NotFound when it is not one of the alliance's."""
        with self.db.transaction() as session:
            require_alliance(session, reach, alliance_id)
            grant = session.get(AllianceRoleRecord, grant_id)
            if grant is None or grant.alliance_id != alliance_id:
                raise NotFound("role grant", grant_id)
            history.record(
                session,
                alliance_id,
                kind="role_revoked",
                subject=f"person:{grant.person_id}",
                data={"role": grant.role},
                actor=actor,
                now=self.clock.now(),
            )
            session.delete(grant)

    def history(self, alliance_id: int, *, reach: Reach) -> list[AllianceEventRecord]:
        with self.db.read_session() as session:
            require_alliance(session, reach, alliance_id)
            return history.history(session, alliance_id)

    def _note_changes(
        self,
        session: Session,
        kind: str,
        subject: str,
        before: dict[str, Any],
        after: SQLModel,
        actor: Actor,
        *,
        alliance_id: int | None = None,
        organisation_id: int | None = None,
    ) -> None:
        """One history line naming the fields `after` changed since `before` (none if nothing
        did): in the alliance's history, or in that of every alliance the organisation sits in."""
        diff = history.changed(before, after.model_dump())
        if not diff:
            return
        if alliance_id is not None:
            alliances = [alliance_id]
        else:
            assert organisation_id is not None
            alliances = history.alliances_of(session, organisation_id)
        now = self.clock.now()
        for each in alliances:
            history.record(
                session, each, kind=kind, subject=subject, data=diff, actor=actor, now=now
            )


def require_alliance(session: Session, reach: Reach, alliance_id: int) -> None:
    if not sees_alliance(session, reach, alliance_id):
        raise AllianceNotFound(alliance_id)


def require_organisation(session: Session, reach: Reach, organisation_id: int) -> None:
    if not sees_organisation(session, reach, organisation_id):
        raise OrganisationNotFound(organisation_id)


def require_person(session: Session, reach: Reach, person_id: int) -> PersonRecord:
    person = session.get(PersonRecord, person_id)
    if person is None or not sees_organisation(session, reach, person.organisation_id):
        raise PersonNotFound(person_id)
    return person
