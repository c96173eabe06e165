"""Whether a key reaches a person: through the person's organisation (see `api.auth`)."""

from __future__ import annotations

from cycle_engine.api.auth import Principal, organisation_in_reach
from cycle_engine.engine import CycleEngine
from cycle_engine.errors import PersonNotFound
from cycle_engine.store.tables.alliances import PersonRecord


def reach_person(engine: CycleEngine, key: Principal, person_id: int) -> PersonRecord:
    """The person if their organisation is in the key's reach; PersonNotFound otherwise."""
    with engine.db.read_session() as session:
        person = session.get(PersonRecord, person_id)
        if person is None or not organisation_in_reach(session, key, person.organisation_id):
            raise PersonNotFound(person_id)
        return person
