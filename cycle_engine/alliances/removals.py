"""`Removals` (`engine.alliances.removals`): taking records out, or archiving them.

    remove      a record nothing depends on (a seat, an organisation, a person registered by
                mistake); anything that depends on it (a cycle role, a product, a key...) makes
                it a 409 naming what, and the answer says to archive or record a departure
    archive     an organisation that has a history: it keeps every row, and in every alliance
                it sits in its departure is recorded as `alliances.departures` records one (its
                open roles flagged, an `organisation_left` event on each affected cycle); its
                partner keys are revoked

What depends on a record is read from the schema's foreign keys, so tables added later count
too. Every command checks reach in its own transaction and writes the alliance's history.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, SQLModel, col, select

from cycle_engine.actors import Actor
from cycle_engine.alliances import departures, history
from cycle_engine.alliances.common import get_organisation, membership, require_text
from cycle_engine.alliances.corrections import (
    require_alliance,
    require_organisation,
    require_person,
)
from cycle_engine.alliances.reach import Reach, sees_organisation
from cycle_engine.changes import Changes
from cycle_engine.clock import Clock
from cycle_engine.errors import ActionNotAllowed, NotFound
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.store.db import Database
from cycle_engine.store.tables import CycleRecord
from cycle_engine.store.tables.access import ApiKeyRecord
from cycle_engine.store.tables.alliances import MembershipRecord
from cycle_engine.store.tables.history import OrganisationArchiveRecord
from cycle_engine.store.templates import TemplateStore


class Removals:
    """Remove records nothing depends on; archive organisations that have a history."""

    def __init__(
        self, *, db: Database, clock: Clock, templates: TemplateStore, changes: Changes
    ) -> None:
        self.db = db
        self.clock = clock
        self.templates = templates
        self.changes = changes

    def remove_member(
        self, alliance_id: int, organisation_id: int, *, actor: Actor, reach: Reach
    ) -> None:
        """Unseat an organisation that did nothing in the alliance yet (no role in its cycles,
        no organisation working through it); ActionNotAllowed (409) otherwise."""
        with self.db.transaction() as session:
            require_alliance(session, reach, alliance_id)
            seat = membership(session, alliance_id, organisation_id)
            if seat is None or not sees_organisation(session, reach, organisation_id):
                raise NotFound("member", organisation_id)
            cycles = select(CycleRecord.id).where(CycleRecord.alliance_id == alliance_id)
            uses = _references(session, "organisations", organisation_id, cycles=cycles)
            linked = session.exec(
                select(MembershipRecord.id).where(
                    MembershipRecord.alliance_id == alliance_id,
                    MembershipRecord.works_with_id == organisation_id,
                )
            ).all()
            if linked:
                uses.append(f"{len(linked)} organisations working with it")
            if uses:
                raise ActionNotAllowed(
                    "remove this member",
                    f"{', '.join(uses)} depend on it; archive the organisation or record "
                    "that it left instead",
                )
            session.delete(seat)
            history.record(
                session,
                alliance_id,
                kind="member_removed",
                subject=f"organisation:{organisation_id}",
                data={},
                actor=actor,
                now=self.clock.now(),
            )

    def remove_organisation(self, organisation_id: int, *, actor: Actor, reach: Reach) -> None:
        """Delete an organisation nothing depends on (its seats go with it)."""
        with self.db.transaction() as session:
            require_organisation(session, reach, organisation_id)
            organisation = get_organisation(session, organisation_id)
            uses = _references(session, "organisations", organisation_id, skip={"alliance_members"})
            if uses:
                raise ActionNotAllowed(
                    f"remove {organisation.name}",
                    f"{', '.join(uses)} depend on it; archive it instead",
                )
            history.record_for_organisation(
                session,
                organisation_id,
                kind="organisation_removed",
                subject=f"organisation:{organisation_id}",
                data={"name": organisation.name},
                actor=actor,
                now=self.clock.now(),
            )
            seats = select(MembershipRecord).where(
                (MembershipRecord.organisation_id == organisation_id)
                | (MembershipRecord.works_with_id == organisation_id)
            )
            for seat in session.exec(seats):
                if seat.organisation_id == organisation_id:
                    session.delete(seat)
            session.flush()
            session.delete(organisation)

    def remove_person(self, person_id: int, *, actor: Actor, reach: Reach) -> None:
        """Delete a person nothing depends on (registered by mistake); record a departure for
        anyone who took part in something."""
        with self.db.transaction() as session:
            person = require_person(session, reach, person_id)
            uses = _references(session, "people", person_id)
            if uses:
                raise ActionNotAllowed(
                    f"remove {person.name}",
                    f"{', '.join(uses)} depend on them; record that they left instead",
                )
            history.record_for_organisation(
                session,
                person.organisation_id,
                kind="person_removed",
                subject=f"person:{person_id}",
                data={"name": person.name, "email": person.email},
                actor=actor,
                now=self.clock.now(),
            )
            session.delete(person)

    def archive_organisation(
        self, organisation_id: int, reason: str, *, actor: Actor, reach: Reach
    ) -> dict[int, dict[int, list[str]]]:
        """Archive an organisation: kept with its history, its departure recorded in every
        alliance it sits in (open roles flagged), its partner keys revoked.

        Returns {alliance_id: {cycle_id: [flagged stages]}}. Raises ActionNotAllowed when it is
        archived already.
        """
        reason = require_text("reason", reason, max_length=2000)
        now = self.clock.now()
        with self.db.transaction() as session:
            require_organisation(session, reach, organisation_id)
            organisation = get_organisation(session, organisation_id)
            if session.get(OrganisationArchiveRecord, organisation_id) is not None:
                raise ActionNotAllowed(f"archive {organisation.name}", "it is archived already")
            session.add(
                OrganisationArchiveRecord(
                    organisation_id=organisation_id,
                    archived_at=now,
                    archived_by=actor.name,
                    reason=reason,
                )
            )

            def spec_of(cycle: CycleRecord) -> TemplateSpec:
                return self.templates.spec(session, cycle.template_id)

            flagged: dict[int, dict[int, list[str]]] = {}
            for alliance_id in history.alliances_of(session, organisation_id):
                if departures.departure_of(session, alliance_id, organisation_id) is None:
                    flagged[alliance_id] = departures.record_organisation_left(
                        session,
                        alliance_id=alliance_id,
                        organisation_id=organisation_id,
                        left_on=now.date(),
                        reason=reason,
                        actor=actor,
                        now=now,
                        changes=self.changes,
                        spec_of=spec_of,
                    )
                history.record(
                    session,
                    alliance_id,
                    kind="organisation_archived",
                    subject=f"organisation:{organisation_id}",
                    data={"reason": reason},
                    actor=actor,
                    now=now,
                )
            keys = select(ApiKeyRecord).where(
                ApiKeyRecord.organisation_id == organisation_id,
                col(ApiKeyRecord.revoked_at).is_(None),
            )
            for key in session.exec(keys):
                key.revoked_at = now
                session.add(key)
            return flagged

    def archived(self, organisation_id: int) -> OrganisationArchiveRecord | None:
        with self.db.read_session() as session:
            return session.get(OrganisationArchiveRecord, organisation_id)


def _references(
    session: Session,
    table: str,
    row_id: int,
    *,
    skip: frozenset[str] | set[str] = frozenset(),
    cycles: Any = None,
) -> list[str]:
    """What refers to row `row_id` of `table`: "3 participation rows", per referring table
    (every foreign key the schema declares, so tables added later count too). With `cycles`
    (a subquery of cycle ids), only rows of those cycles count, where the table has a cycle."""
    found: list[str] = []
    for other in SQLModel.metadata.sorted_tables:
        if other.name in skip or other.name == "alliance_events":
            continue
        for key in other.foreign_keys:
            if key.column.table.name != table:
                continue
            query = select(func.count()).select_from(other).where(key.parent == row_id)
            if cycles is not None:
                if "cycle_id" not in other.c:
                    continue
                query = query.where(other.c.cycle_id.in_(cycles))
            count = session.exec(query).one()
            if count:
                found.append(f"{count} {other.name.replace('_', ' ')} rows")
    return found
