"""Claiming due timers with leases, so any number of workers share one table safely.

PostgreSQL: `SELECT ... FOR UPDATE SKIP LOCKED` picks rows no other worker is claiming, then
the same transaction marks them claimed. SQLite: the write transaction begins with `BEGIN
IMMEDIATE` (see `cycle_engine.db`), which serialises claimers. A claim is a lease: a worker
that dies leaves `lease_until` to pass, and the next claim takes the row over. A lease that ends
implausibly far in the future (more than two lease lengths ahead: the claimer's clock was ahead,
or ours jumped back) is taken over too once the timer is due by our clock, so a clock jump
neither hangs a timer nor fires it early.

The status filters are SQL literals on purpose: both databases use a partial index only when
the query repeats its predicate literally (a bound parameter would not match it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import Select, func, or_, select, text, update

from cycle_engine.db import Database
from cycle_engine.models.timers import CLAIMED, PENDING, TimerRecord

DEFAULT_LEASE = timedelta(minutes=5)

_T = TimerRecord.__table__  # type: ignore[attr-defined]
_IS_PENDING = text("timers.status = 'pending'")
_IS_CLAIMED = text("timers.status = 'claimed'")


def due_query(now: datetime, limit: int, *, lock: bool) -> Select[int]:
    """Ids of pending timers due at `now`, oldest first (uses `ix_timers_pending_due`)."""
    query = (
        select(_T.c.id).where(_IS_PENDING, _T.c.due_at <= now)
        .order_by(_T.c.due_at, _T.c.id).limit(limit)
    )
    return query.with_for_update(skip_locked=True) if lock else query


def expired_query(
    now: datetime, lease: timedelta, limit: int, *, lock: bool
) -> Select[int]:
    """Ids of due claimed timers whose lease ended (or ends implausibly late)."""
    query = (
        select(_T.c.id)
        .where(_IS_CLAIMED, _T.c.due_at <= now,
               or_(_T.c.lease_until <= now, _T.c.lease_until > now + 2 * lease))
        .order_by(_T.c.lease_until).limit(limit)
    )
    return query.with_for_update(skip_locked=True) if lock else query


class Claim(NamedTuple):
    """A claimed timer and its cycle (which the firing locks first)."""

    id: int
    cycle_id: int | None


def claim_due(
    db: Database, owner: str, now: datetime, *, limit: int = 100,
    lease: timedelta = DEFAULT_LEASE,
) -> list[Claim]:
    """Claim up to `limit` due timers for `owner` until `now + lease`. Commits.

    Timers whose lease expired are taken over first, then pending ones by due time.
    """
    if limit < 1:
        return []
    lock = db.is_postgresql
    with db.transaction() as session:
        connection = session.connection()
        ids = list(connection.execute(expired_query(now, lease, limit, lock=lock)).scalars())
        if len(ids) < limit:
            ids += connection.execute(due_query(now, limit - len(ids), lock=lock)).scalars()
        if not ids:
            return []
        rows = connection.execute(
            update(_T).where(_T.c.id.in_(ids))
            .values(status=CLAIMED, lease_owner=owner, lease_until=now + lease)
            .returning(_T.c.id, _T.c.cycle_id)
        ).all()
    order = {timer_id: position for position, timer_id in enumerate(ids)}
    return sorted((Claim(row[0], row[1]) for row in rows), key=lambda c: order[c.id])


def claim_due_timers(
    db: Database, owner: str, now: datetime, *, limit: int = 100,
    lease: timedelta = DEFAULT_LEASE,
) -> list[int]:
    """Ids of the timers `claim_due` claimed for `owner`."""
    return [claim.id for claim in claim_due(db, owner, now, limit=limit, lease=lease)]


def release_timers(db: Database, owner: str, ids: Sequence[int]) -> int:
    """Give claimed timers back (pending, no lease) so another worker fires them now."""
    if not ids:
        return 0
    with db.transaction() as session:
        result = session.connection().execute(
            update(_T)
            .where(_T.c.id.in_(list(ids)), _T.c.lease_owner == owner, _IS_CLAIMED)
            .values(status=PENDING, lease_owner=None, lease_until=None)
        )
        return int(result.rowcount)


def next_due_at(db: Database) -> datetime | None:
    """When the earliest pending timer is due (the driver's wake-up), or None."""
    with db.read_session() as session:
        query = select(_T.c.due_at).where(_IS_PENDING).order_by(_T.c.due_at).limit(1)
        due: datetime | None = session.connection().execute(query).scalar()
        lease = session.connection().execute(
            select(_T.c.lease_until).where(_IS_CLAIMED).order_by(_T.c.lease_until).limit(1)
        ).scalar()
    candidates = [moment for moment in (due, lease) if moment is not None]
    return min(candidates) if candidates else None


def count_by_status(db: Database) -> dict[str, int]:
    """How many timers are in each status (for reports and the CLI)."""
    with db.read_session() as session:
        rows = session.connection().execute(
            select(_T.c.status, func.count()).group_by(_T.c.status)
        ).all()
    return {str(status): int(count) for status, count in rows}

