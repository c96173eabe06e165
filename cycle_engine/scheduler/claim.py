"""Claiming due timers with leases, so any number of workers share one table safely.

One `UPDATE ... WHERE id IN (SELECT ... LIMIT n) RETURNING` picks and marks a batch. PostgreSQL:
the inner `SELECT ... FOR UPDATE SKIP LOCKED` picks rows no other worker is claiming. SQLite:
the write transaction begins with `BEGIN IMMEDIATE` (see `cycle_engine.store.db`), which serialises
claimers. A claim is a lease: a worker
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
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Subquery,
    any_,
    bindparam,
    func,
    select,
    text,
    union_all,
    update,
)

from cycle_engine.store.db import Database
from cycle_engine.store.tables.timers import CLAIMED, PENDING, TimerRecord
from cycle_engine.store.tables.types import UTCDateTime

DEFAULT_LEASE = timedelta(minutes=5)

_T = TimerRecord.__table__  # type: ignore[attr-defined]
_IS_PENDING = text("timers.status = 'pending'")
_IS_CLAIMED = text("timers.status = 'claimed'")


def due_query(now: datetime | Any, limit: int | Any, *, lock: bool) -> Select[int]:
    """Ids of pending timers due at `now`, oldest first (uses `ix_timers_pending_due`)."""
    query = (
        select(_T.c.id)
        .where(_IS_PENDING, _T.c.due_at <= now)
        .order_by(_T.c.due_at, _T.c.id)
        .limit(limit)
    )
    return query.with_for_update(skip_locked=True) if lock else query


def expired_query(
    now: datetime | Any,
    lease: timedelta,
    limit: int | Any,
    *,
    lock: bool,
    implausible_after: datetime | Any = None,
) -> Select[int]:
    """Ids of due claimed timers whose lease ended (or ends implausibly late), by lease end.

    Two range scans of `ix_timers_claimed_lease` (ended; implausible: after `now + 2 * lease`),
    not one scan of every claimed row: a lease that ended sorts before any that has not.
    """
    if implausible_after is None:
        implausible_after = now + 2 * lease

    def leases(condition: ColumnElement[bool]) -> Subquery:
        query = (
            select(_T.c.id, _T.c.lease_until)
            .where(_IS_CLAIMED, condition, _T.c.due_at <= now)
            .order_by(_T.c.lease_until)
            .limit(limit)
        )
        return (query.with_for_update(skip_locked=True) if lock else query).subquery()

    ended = leases(_T.c.lease_until <= now)
    implausible = leases(_T.c.lease_until > implausible_after)
    both = union_all(
        select(ended.c.id, ended.c.lease_until),
        select(implausible.c.id, implausible.c.lease_until),
    ).subquery()
    return select(both.c.id).order_by(both.c.lease_until).limit(limit)


def claim_query(
    now: datetime | Any,
    limit: int | Any,
    *,
    lock: bool,
    owner: str | Any = "explain",
    until: datetime | Any = None,
) -> Any:
    """The one UPDATE ... RETURNING that claims up to `limit` pending due timers.

    PostgreSQL gets `id = ANY(ARRAY(SELECT ...))`: the picked ids become one array, found by
    primary key, where `id IN (SELECT ...)` may be planned as a scan of the whole table.
    """
    picked = due_query(now, limit, lock=lock).scalar_subquery()
    return (
        update(_T)
        .where(_T.c.id == any_(func.array(picked)) if lock else _T.c.id.in_(picked))
        .values(status=CLAIMED, lease_owner=owner, lease_until=now if until is None else until)
        .returning(_T.c.id, _T.c.cycle_id, _T.c.due_at)
    )


def _claim_statements(lock: bool) -> tuple[Any, Any, Any]:
    """Prepared (expired, take over, claim pending) statements; values are bound at run time."""
    now, limit = bindparam("now", type_=UTCDateTime()), bindparam("limit", type_=Integer())
    claim = {
        "status": CLAIMED,
        "lease_owner": bindparam("owner"),
        "lease_until": bindparam("until", type_=UTCDateTime()),
    }
    expired = expired_query(
        now,
        DEFAULT_LEASE,
        limit,
        lock=lock,
        implausible_after=bindparam("implausible", type_=UTCDateTime()),
    )
    take_over = (
        update(_T)
        .where(_T.c.id.in_(bindparam("ids", expanding=True)))
        .values(**claim)
        .returning(_T.c.id, _T.c.cycle_id)
    )
    pending = claim_query(
        now, limit, lock=lock, owner=claim["lease_owner"], until=claim["lease_until"]
    )
    return expired, take_over, pending


_STATEMENTS = {lock: _claim_statements(lock) for lock in (False, True)}


class Claim(NamedTuple):
    """A claimed timer and its cycle (which the firing locks first)."""

    id: int
    cycle_id: int | None


def claim_due(
    db: Database,
    owner: str,
    now: datetime,
    *,
    limit: int = 100,
    lease: timedelta = DEFAULT_LEASE,
) -> list[Claim]:
    """Claim up to `limit` due timers for `owner` until `now + lease`. Commits.

    Timers whose lease expired are taken over first (by lease end), then pending ones by due
    time: usually two statements, the second claiming in the same statement that picks.
    """
    if limit < 1:
        return []
    expired_query_, take_over, claim_pending = _STATEMENTS[db.is_postgresql]
    params = {
        "now": now,
        "limit": limit,
        "owner": owner,
        "until": now + lease,
        "implausible": now + 2 * lease,
    }
    with db.transaction() as session:
        connection = session.connection()
        expired = list(connection.execute(expired_query_, params).scalars())
        claims: list[Claim] = []
        if expired:
            rows = connection.execute(take_over, {**params, "ids": expired}).all()
            order = {timer_id: position for position, timer_id in enumerate(expired)}
            claims = sorted((Claim(row[0], row[1]) for row in rows), key=lambda c: order[c.id])
        if len(claims) < limit:
            pending = list(
                connection.execute(claim_pending, {**params, "limit": limit - len(claims)}).all()
            )
            pending.sort(key=lambda row: (row[2], row[0]))
            claims += [Claim(row[0], row[1]) for row in pending]
    return claims


def claim_due_timers(
    db: Database,
    owner: str,
    now: datetime,
    *,
    limit: int = 100,
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
        lease = (
            session.connection()
            .execute(
                select(_T.c.lease_until).where(_IS_CLAIMED).order_by(_T.c.lease_until).limit(1)
            )
            .scalar()
        )
    candidates = [moment for moment in (due, lease) if moment is not None]
    return min(candidates) if candidates else None
