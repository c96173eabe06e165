"""`Onboarding` (`engine.alliances.onboarding`): an alliance's organisations, agency links and
people from one CSV or JSON file (`onboarding_files`), as coordinators keep them in
spreadsheets.

The file is checked as a whole before anything is written, and every problem is reported with
its row and column (`ImportRejected.errors`): nothing is written unless all of it is right (one
transaction). Importing the same file again changes nothing: an organisation already seated
under the same name, a person already registered with the same address in the same
organisation, a role already held count as unchanged. A person's language defaults to the
alliance's. An organisation registered elsewhere is seated by its name only if the caller
reaches it; otherwise its row is refused (its name is taken).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import available_timezones

from sqlalchemy import func
from sqlmodel import Session, col, select

from cycle_engine.actors import Actor
from cycle_engine.alliances import alliances as registry
from cycle_engine.alliances import history, people
from cycle_engine.alliances.common import get_alliance
from cycle_engine.alliances.onboarding_files import ImportRejected, Row, RowError, parse
from cycle_engine.alliances.reach import Reach, sees_alliance, sees_organisation
from cycle_engine.clock import Clock
from cycle_engine.errors import AllianceNotFound
from cycle_engine.store.db import Database
from cycle_engine.store.tables.alliances import (
    ALLIANCE_ROLES,
    LANGUAGES,
    ORGANISATION_KINDS,
    AllianceRoleRecord,
    MembershipRecord,
    OrganisationRecord,
    PersonRecord,
)

_ZONES = frozenset(available_timezones())
#: At most this many records in one file (the method's alliances have about a hundred).
MAX_RECORDS = 5000


@dataclass(kw_only=True)
class ImportResult:
    """What the import did, and the ids of the records the file names (by name, by email)."""

    organisations_created: int = 0
    organisations_seated: int = 0
    links_set: int = 0
    people_created: int = 0
    roles_granted: int = 0
    unchanged: int = 0
    organisation_ids: dict[str, int] = field(default_factory=dict)
    person_ids: dict[str, int] = field(default_factory=dict)


class _DryRun(Exception):
    """Leaves the import's transaction so that nothing it wrote stays."""

    def __init__(self, result: ImportResult) -> None:
        self.result = result


class Onboarding:
    """Import a file into an alliance, all or nothing."""

    def __init__(self, *, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def import_file(
        self,
        alliance_id: int,
        content: bytes,
        media_type: str,
        *,
        actor: Actor,
        reach: Reach | None = None,
        dry_run: bool = False,
        joined_on: date | None = None,
    ) -> ImportResult:
        """Check the whole file, then write all of it in one transaction (nothing, for a dry
        run). Rows without `joined_on` join on `joined_on` (default: today).

        Raises ImportRejected (every problem, by row and column), AllianceNotFound (also out
        of `reach`).
        """
        organisations, persons = parse(content, media_type)
        if len(organisations) + len(persons) > MAX_RECORDS:
            raise ImportRejected(
                [RowError(row="1", column="file", message=f"at most {MAX_RECORDS} records")]
            )
        now = self.clock.now()
        try:
            with self.db.transaction() as session:
                if reach is not None and not sees_alliance(session, reach, alliance_id):
                    raise AllianceNotFound(alliance_id)
                alliance = get_alliance(session, alliance_id)
                day = joined_on or now.date()
                plan = _Plan(session, alliance_id, alliance.language, day, reach)
                plan.load(organisations, persons)
                plan.check_organisations(organisations)
                plan.check_people(persons, {r.values.get("name", "") for r in organisations})
                if plan.errors:
                    raise ImportRejected(plan.errors)
                result = ImportResult()
                plan.apply_organisations(organisations, now, result)
                plan.apply_people(persons, result)
                if dry_run:
                    raise _DryRun(result)
                if result.unchanged < len(organisations) + len(persons):
                    history.record(
                        session,
                        alliance_id,
                        kind="imported",
                        subject=f"alliance:{alliance_id}",
                        data={
                            "organisations_created": result.organisations_created,
                            "organisations_seated": result.organisations_seated,
                            "links_set": result.links_set,
                            "people_created": result.people_created,
                            "roles_granted": result.roles_granted,
                        },
                        actor=actor,
                        now=now,
                    )
                return result
        except _DryRun as done:
            return done.result


class _Plan:
    """Checks one file against the alliance's records, then applies it, in one session."""

    def __init__(
        self, session: Session, alliance_id: int, language: str, today: date, reach: Reach | None
    ) -> None:
        self.session = session
        self.alliance_id = alliance_id
        self.language = language
        self.today = today
        self.reach = reach
        self.errors: list[RowError] = []
        self.organisations: dict[str, OrganisationRecord] = {}
        self.seats: dict[int, MembershipRecord] = {}
        self.persons: dict[str, PersonRecord] = {}
        self.roles: dict[int, set[str]] = {}

    def load(self, organisations: list[Row], persons: list[Row]) -> None:
        """The stored records the file may name, in three queries (not one per row)."""
        names = {
            r.values[k]
            for r in organisations + persons
            for k in ("name", "works_with", "organisation")
            if k in r.values
        }
        if names:
            query = select(OrganisationRecord).where(col(OrganisationRecord.name).in_(names))
            self.organisations = {o.name: o for o in self.session.exec(query)}
        query_seats = select(MembershipRecord).where(
            MembershipRecord.alliance_id == self.alliance_id
        )
        self.seats = {m.organisation_id: m for m in self.session.exec(query_seats)}
        query_roles = select(AllianceRoleRecord).where(
            AllianceRoleRecord.alliance_id == self.alliance_id
        )
        for grant in self.session.exec(query_roles):
            self.roles.setdefault(grant.person_id, set()).add(grant.role)
        emails = {r.values["email"].lower() for r in persons if "email" in r.values}
        if emails:
            query_people = select(PersonRecord).where(func.lower(PersonRecord.email).in_(emails))
            self.persons = {p.email.lower(): p for p in self.session.exec(query_people)}

    # -- checks --------------------------------------------------------------------------

    def _error(self, row: Row, column: str, message: str) -> None:
        self.errors.append(RowError(row=row.where, column=column, message=message))

    def _required(self, row: Row, *columns: str) -> None:
        for column in columns:
            if column not in row.values:
                self._error(row, column, "required")

    def _zone_and_day(self, row: Row) -> None:
        zone = row.values.get("timezone")
        if zone is not None and zone not in _ZONES:
            self._error(row, "timezone", f"{zone[:80]!r} is not an IANA time zone name")
        day = row.values.get("joined_on")
        if day is not None:
            try:
                date.fromisoformat(day)
            except ValueError:
                self._error(row, "joined_on", f"{day!r} is not a date like 2026-03-01")

    def check_organisations(self, rows: list[Row]) -> None:
        names: dict[str, Row] = {}
        for row in rows:
            v = row.values
            self._required(row, "name", "kind", "country")
            name = v.get("name", "")
            if len(name) > 200:
                self._error(row, "name", "at most 200 characters")
            if name in names:
                self._error(row, "name", f"named twice (also row {names[name].where})")
            elif name:
                names[name] = row
            if "kind" in v and v["kind"] not in ORGANISATION_KINDS:
                self._error(row, "kind", f"must be one of {', '.join(ORGANISATION_KINDS)}")
            self._zone_and_day(row)
            if name:
                self._check_stored_organisation(row)
        for row in rows:
            agency = row.values.get("works_with")
            if agency is None:
                continue
            if agency == row.values.get("name"):
                self._error(row, "works_with", "an organisation cannot work with itself")
            elif agency not in names and not self._seated(agency):
                self._error(row, "works_with", f"{agency!r} is neither in the file nor a member")

    def _check_stored_organisation(self, row: Row) -> None:
        stored = self._organisation(row.values["name"])
        if stored is None or stored.id is None:
            return
        if self.reach is not None and not sees_organisation(self.session, self.reach, stored.id):
            self._error(row, "name", "an organisation outside this alliance has this name")
        elif (stored.kind, stored.country) != (row.values.get("kind"), row.values.get("country")):
            self._error(
                row,
                "name",
                f"registered already as {stored.kind} in {stored.country}; correct it with "
                "PATCH /organisations/{id} first",
            )

    def check_people(self, rows: list[Row], organisations: set[str]) -> None:
        emails: dict[str, Row] = {}
        for row in rows:
            v = row.values
            self._required(row, "name", "email", "organisation")
            email = v.get("email", "").lower()
            if email and (email.count("@") != 1 or "." not in email.split("@")[1]):
                self._error(row, "email", f"{email!r} is not an email address")
            if email in emails:
                self._error(row, "email", f"listed twice (also row {emails[email].where})")
            elif email:
                emails[email] = row
            organisation = v.get("organisation")
            if (
                organisation
                and organisation not in organisations
                and not self._seated(organisation)
            ):
                self._error(
                    row, "organisation", f"{organisation!r} is neither in the file nor a member"
                )
            if "language" in v and v["language"] not in LANGUAGES:
                self._error(row, "language", f"must be one of {', '.join(LANGUAGES)}")
            if "role" in v and v["role"] not in ALLIANCE_ROLES:
                self._error(row, "role", f"must be one of {', '.join(ALLIANCE_ROLES)}")
            self._zone_and_day(row)
            stored = self._person(email) if email else None
            if stored is not None:
                org = self.session.get(OrganisationRecord, stored.organisation_id)
                if org is None or org.name != organisation:
                    self._error(row, "email", "registered already, in another organisation")

    # -- lookups -------------------------------------------------------------------------

    def _organisation(self, name: str) -> OrganisationRecord | None:
        return self.organisations.get(name)

    def _seated(self, name: str) -> bool:
        stored = self._organisation(name)
        return stored is not None and stored.id in self.seats

    def _person(self, email: str) -> PersonRecord | None:
        return self.persons.get(email)

    def _id_of(self, name: str, result: ImportResult) -> int:
        if name in result.organisation_ids:
            return result.organisation_ids[name]
        stored = self._organisation(name)
        assert stored is not None and stored.id is not None
        return stored.id

    def _day(self, row: Row) -> date:
        day = row.values.get("joined_on")
        return date.fromisoformat(day) if day else self.today

    # -- applying ------------------------------------------------------------------------

    def apply_organisations(self, rows: list[Row], now: datetime, result: ImportResult) -> None:
        touched: set[int] = set()
        for row in rows:
            v = row.values
            stored = self._organisation(v["name"])
            if stored is None:
                stored = registry.add_organisation(
                    self.session,
                    now,
                    name=v["name"],
                    kind=v["kind"],
                    country=v["country"],
                    timezone=v.get("timezone", "UTC"),
                )
                result.organisations_created += 1
                touched.add(stored.id or 0)
                self.organisations[stored.name] = stored
            assert stored.id is not None
            result.organisation_ids[stored.name] = stored.id
            if stored.id not in self.seats:
                self.seats[stored.id] = registry.join_alliance(
                    self.session,
                    alliance_id=self.alliance_id,
                    organisation_id=stored.id,
                    joined_on=self._day(row),
                )
                result.organisations_seated += 1
                touched.add(stored.id)
        for row in rows:  # every seat exists now: link the agencies
            organisation_id = result.organisation_ids[row.values["name"]]
            seat = self.seats[organisation_id]
            agency = row.values.get("works_with")
            agency_id = self._id_of(agency, result) if agency else None
            if agency_id is not None and seat.works_with_id != agency_id:
                seat.works_with_id = agency_id
                self.session.add(seat)
                result.links_set += 1
            elif organisation_id not in touched:
                result.unchanged += 1
        self.session.flush()

    def apply_people(self, rows: list[Row], result: ImportResult) -> None:
        for row in rows:
            v = row.values
            email = v["email"].lower()
            person = self._person(email)
            existed = person is not None
            if person is None:
                person = people.add_person(
                    self.session,
                    name=v["name"],
                    email=email,
                    organisation_id=self._id_of(v["organisation"], result),
                    joined_on=self._day(row),
                    language=v.get("language", self.language),
                    timezone=v.get("timezone"),
                )
                result.people_created += 1
                self.persons[email] = person
            assert person.id is not None
            result.person_ids[email] = person.id
            role = v.get("role")
            held = self.roles.setdefault(person.id, set())
            if role is not None and role not in held:
                people.grant_role(
                    self.session, alliance_id=self.alliance_id, person_id=person.id, role=role
                )
                held.add(role)
                result.roles_granted += 1
            elif existed:
                result.unchanged += 1
