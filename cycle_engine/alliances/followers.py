"""Following a cycle (issue 12 item 5): a person of a member organisation follows a cycle of
their alliance that their organisation may have no role in, and hears its results.

Members read every cycle of their alliance (`alliances.reach`); following adds them to the
people told when a stage completes with results (`outbox.results`): the cycle's roster carries
followers with the reason `follower` (`alliances.roster`), so the fire reads them in the query
it already makes. Following changes nothing on the cycle itself (no event, no new version).

Who may make whom follow: anyone who reads the cycle, for a person in their reach (a partner:
the people of its own organisation; a coordinator: the people of the alliance's members), except
managers, who read but never change anything on a cycle. The person must work for a member of
the cycle's alliance and not have left. Following twice keeps the first row; unfollowing
someone who does not follow changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from cycle_engine.actors import Actor
from cycle_engine.alliances.reach import Reach, sees_organisation
from cycle_engine.errors import ActionNotAllowed, NotPermitted, PersonNotFound
from cycle_engine.store.tables import CycleRecord
from cycle_engine.store.tables.alliances import MembershipRecord, PersonRecord
from cycle_engine.store.tables.learning import CycleFollowerRecord

MANAGERS_READ = "managers read the alliance's cycles; a coordinator or the person's own "
MANAGERS_READ += "organisation adds or removes followers"


def _person(
    session: Session, reach: Reach | None, person_id: int, actor: Actor, action: str
) -> PersonRecord:
    if actor.role == "manager":
        raise NotPermitted(action, MANAGERS_READ)
    person = session.get(PersonRecord, person_id)
    if person is None or (
        reach is not None and not sees_organisation(session, reach, person.organisation_id)
    ):
        raise PersonNotFound(person_id)
    return person


def follow(
    session: Session,
    cycle: CycleRecord,
    person_id: int,
    *,
    reach: Reach | None,
    actor: Actor,
    now: datetime,
) -> CycleFollowerRecord:
    """Make the person follow the cycle (the cycle is already checked to be in reach).

    Raises PersonNotFound (missing or out of reach), NotPermitted (a manager), ActionNotAllowed
    (a standalone cycle, a person who left, or one whose organisation is not a member of the
    cycle's alliance).
    """
    assert cycle.id is not None
    action = f"follow cycle {cycle.id}"
    person = _person(session, reach, person_id, actor, action)
    if cycle.alliance_id is None:
        raise ActionNotAllowed(action, "a standalone cycle has no alliance whose members follow it")
    if person.left_on is not None:
        raise ActionNotAllowed(action, f"{person.name} left on {person.left_on.isoformat()}")
    seat = session.exec(
        select(MembershipRecord.id).where(
            MembershipRecord.alliance_id == cycle.alliance_id,
            MembershipRecord.organisation_id == person.organisation_id,
        )
    ).first()
    if seat is None:
        raise ActionNotAllowed(
            action,
            f"{person.name}'s organisation is not a member of alliance {cycle.alliance_id}",
        )
    found = _row(session, cycle.id, person_id)
    if found is not None:
        return found
    row = CycleFollowerRecord(
        cycle_id=cycle.id, person_id=person_id, followed_at=now, followed_by=actor.name
    )
    try:
        with session.begin_nested():  # a concurrent follow of the same person may win the race
            session.add(row)
    except IntegrityError:
        raced = _row(session, cycle.id, person_id)
        if raced is None:
            raise
        return raced
    return row


def unfollow(
    session: Session, cycle: CycleRecord, person_id: int, *, reach: Reach | None, actor: Actor
) -> bool:
    """Stop the person following the cycle; False when they did not follow it."""
    assert cycle.id is not None
    _person(session, reach, person_id, actor, f"unfollow cycle {cycle.id}")
    found = _row(session, cycle.id, person_id)
    if found is None:
        return False
    session.delete(found)
    session.flush()
    return True


def followers_of(session: Session, cycle_id: int, reach: Reach | None) -> list[CycleFollowerRecord]:
    """The cycle's followers the caller reaches (a partner sees its own organisation's)."""
    query = (
        select(CycleFollowerRecord)
        .join(PersonRecord, col(PersonRecord.id) == CycleFollowerRecord.person_id)
        .where(CycleFollowerRecord.cycle_id == cycle_id)
        .order_by(col(CycleFollowerRecord.id))
    )
    if reach is not None:
        query = query.where(reach.organisations(PersonRecord.organisation_id))
    return list(session.exec(query))


def _row(session: Session, cycle_id: int, person_id: int) -> CycleFollowerRecord | None:
    return session.exec(
        select(CycleFollowerRecord).where(
            CycleFollowerRecord.cycle_id == cycle_id, CycleFollowerRecord.person_id == person_id
        )
    ).first()
