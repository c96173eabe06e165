"""Claiming due timers with leases, so any number of workers share one table safely.

A claim works on `timer_queue`, the narrow due-queue (one short row per open timer: when to
look at it next, who holds its lease, and the timer's own due time), never on the wide
`timers` row, not even to read it: one prebuilt `UPDATE timer_queue ... RETURNING` picks and
leases a batch, moving each row's `due_at` to the end of its lease. So a lease that ends
without the timer firing (its worker died) makes the row due again by itself, and the next
claim takes it over. PostgreSQL: the picking `SELECT ... FOR UPDATE SKIP LOCKED` skips rows
another worker is claiming. SQLite: the write transaction begins with `BEGIN IMMEDIATE` (see
`cycle_engine.store.db`), which serialises claimers. A lease that ends implausibly far in the
future (more than two lease lengths ahead: the claimer's clock was ahead, or ours jumped back)
is taken over too once the timer is due by our clock (found through the small partial index of
leased rows), so a clock jump neither hangs a timer nor fires it early.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Integer, Select, any_, bindparam, func, select, union_all, update

from cycle_engine.store.db import Database
from cycle_engine.store.prepared import Prepared, fetch
from cycle_engine.store.tables.timers import TimerQueueRecord
from cycle_engine.store.tables.types import UTCDateTime

DEFAULT_LEASE = timedelta(minutes=5)

_Q = TimerQueueRecord.__table__  # type: ignore[attr-defined]


def due_query(now: datetime | Any, limit: int | Any, *, lock: bool) -> Select[Any]:
    """Queue rows due at `now` (pending, or leased with the lease ended), oldest first, through
    `ix_timer_queue_due`."""
    query = (
        select(_Q.c.timer_id, _Q.c.due_at)
        .where(_Q.c.due_at <= now)
        .order_by(_Q.c.due_at, _Q.c.timer_id)
        .limit(limit)
    )
    return query.with_for_update(skip_locked=True) if lock else query


def implausible_query(
    now: datetime | Any, limit: int | Any, implausible_after: datetime | Any, *, lock: bool
) -> Select[Any]:
    """Leased rows whose lease ends after `implausible_after` though the timer is due by `now`
    (`ix_timer_queue_leased` holds only the few leased rows)."""
    query = (
        select(_Q.c.timer_id, _Q.c.due_at)
        .where(
            _Q.c.lease_owner.is_not(None),
            _Q.c.due_at > implausible_after,
            _Q.c.timer_due_at <= now,
        )
        .order_by(_Q.c.due_at)
        .limit(limit)
    )
    return query.with_for_update(skip_locked=True) if lock else query


def claim_query(
    now: datetime | Any,
    limit: int | Any,
    *,
    lock: bool,
    owner: str | Any = "explain",
    until: datetime | Any = None,
    implausible_after: datetime | Any = None,
) -> Any:
    """The one UPDATE ... RETURNING (timer id, cycle id, the timer's due time) that claims up
    to `limit` due timers: due rows by due time, then implausibly leased ones.

    PostgreSQL gets `timer_id = ANY(ARRAY(SELECT ...))`: the picked ids become one array, found
    by primary key, where a join or `IN (SELECT ...)` may be planned as a scan of the queue.
    """
    if implausible_after is None:
        implausible_after = now + 2 * DEFAULT_LEASE
    due = due_query(now, limit, lock=lock).subquery()
    implausible = implausible_query(now, limit, implausible_after, lock=lock).subquery()
    both = union_all(select(due.c.timer_id), select(implausible.c.timer_id)).subquery()
    picked = select(both.c.timer_id).limit(limit).scalar_subquery()
    return (
        update(_Q)
        .where(_Q.c.timer_id == any_(func.array(picked)) if lock else _Q.c.timer_id.in_(picked))
        .values(due_at=now if until is None else until, lease_owner=owner)
        .returning(_Q.c.timer_id, _Q.c.cycle_id, _Q.c.timer_due_at)
    )


def _prepared(lock: bool) -> Any:
    """The claim with every value bound at run time."""
    return claim_query(
        bindparam("now", type_=UTCDateTime()),
        bindparam("limit", type_=Integer()),
        lock=lock,
        owner=bindparam("owner"),
        until=bindparam("until", type_=UTCDateTime()),
        implausible_after=bindparam("implausible", type_=UTCDateTime()),
    )


#: The prebuilt claim, by whether rows are locked (PostgreSQL).
CLAIM = {lock: _prepared(lock) for lock in (False, True)}
#: The same, run on the driver's cursor (compiled once per dialect; see `store.prepared`).
_CLAIM = {lock: Prepared(statement) for lock, statement in CLAIM.items()}


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
    """Claim up to `limit` due timers for `owner` until `now + lease`, in due order. Commits.

    One statement: expired leases are due again (their row's `due_at` is the lease's end), so
    they come back in the same pick as pending timers.
    """
    if limit < 1:
        return []
    params = {
        "now": now,
        "limit": limit,
        "owner": owner,
        "until": now + lease,
        "implausible": now + 2 * lease,
    }
    with db.transaction() as session:
        rows = fetch(session, _CLAIM[db.is_postgresql], params)
    rows.sort(key=lambda row: (row[2], row[0]))
    return [Claim(row[0], row[1]) for row in rows]


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


_RELEASE = (
    update(_Q)
    .where(
        _Q.c.timer_id.in_(bindparam("ids", expanding=True)), _Q.c.lease_owner == bindparam("owner")
    )
    .values(lease_owner=None, due_at=_Q.c.timer_due_at)
)


def release_timers(db: Database, owner: str, ids: Sequence[int]) -> int:
    """Give claimed timers back (due again at their own time, no lease) so another worker
    fires them now."""
    if not ids:
        return 0
    with db.transaction() as session:
        result = session.connection().execute(_RELEASE, {"ids": list(ids), "owner": owner})
        return int(result.rowcount)


def next_due_at(db: Database) -> datetime | None:
    """When the next timer falls due or lease ends (the driver's wake-up), or None."""
    with db.read_session() as session:
        due: datetime | None = session.connection().execute(select(func.min(_Q.c.due_at))).scalar()
    return due
