"""Claiming outbox rows with a lease, keeping the lease while working, and recording outcomes.

Any number of senders may run against one database. A sender claims only as many rows as it
can work on at once, in one short transaction (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two
senders never take the same row; SQLite's `BEGIN IMMEDIATE` serialises the claim). While a row
is on the wire its sender renews the lease (`renew`, the heartbeat), so a slow server cannot
outlive it; a lease that already ran out is never renewed, so a sender that lost a row knows it
and does not send it. Each outcome is recorded as soon as it is known (`complete`), only by the
sender that still holds the row.

A sender that dies leaves its few rows claimed until the lease runs out; the next claim takes
them over: the same attempt (`attempts` unchanged), sent again with the same Message-ID and
marked `possible_duplicate`, since the dead sender may have been answered 250 just before.

Temporary failures are retried with capped, jittered back-off until the row is delivered or
expires (`outbox.expiry`): an outage of any length loses nothing that is still worth sending,
and when the server returns the backlog comes due spread over the back-off cap. Only permanent
failures end a row as `failed`, with the server's reply. A digest carries its folded notices:
they are delivered, fail or expire with it.

While claiming, two rules keep a person from being flooded after downtime: of several
reminders for the same step only the newest is sent (the others are `suppressed` as
superseded), and past `hourly_cap` emails in an hour the rest wait for the person's digest.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BindParameter, Integer, Text, and_, bindparam, func, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from cycle_engine.outbox.enqueue import DIGESTIBLE, SNOOZABLE, digest_time
from cycle_engine.outbox.expiry import expiry_reason
from cycle_engine.store.db import Database
from cycle_engine.store.prepared import Prepared, fetch, run_many
from cycle_engine.store.tables.outbox import (
    CLAIMED,
    DIGEST,
    DIGESTED,
    EMAIL,
    EXPIRED,
    FAILED,
    IMMEDIATE,
    PENDING,
    SENT,
    SUPPRESSED,
    NotificationPreferenceRecord,
    OutboxRecipientRecord,
    OutboxRecord,
)
from cycle_engine.store.tables.types import UTCDateTime


@dataclass(frozen=True, kw_only=True)
class ClaimPolicy:
    """How senders claim and retry.

    `lease`: how long a claim holds without renewal; a sender renews it every quarter lease
    (`heartbeat`) while it works, and a dead sender's rows are taken over once it runs out.
    `batch`: most rows one pass claims (each claim takes only what the sender can work on).
    `hourly_cap`: emails per person per hour before the rest wait for their digest.
    Back-off after a temporary failure: `backoff_base * 2^(attempts-1)`, at most `backoff_cap`,
    times a random 0.5-1.0.
    """

    lease: timedelta = timedelta(seconds=60)
    batch: int = 100
    hourly_cap: int = 10
    backoff_base: timedelta = timedelta(minutes=1)
    backoff_cap: timedelta = timedelta(minutes=30)

    @property
    def heartbeat(self) -> timedelta:
        """How often a working sender renews its leases."""
        return self.lease / 4


@dataclass(frozen=True, kw_only=True)
class RecipientOutcome:
    """The server's answer for one address of a message."""

    address: str
    accepted: bool
    code: int | None = None
    reply: str | None = None


@dataclass(frozen=True, kw_only=True)
class Delivered:
    recipients: tuple[RecipientOutcome, ...] = ()
    response: str = ""


@dataclass(frozen=True, kw_only=True)
class Retry:
    """A temporary failure; `maybe_delivered` when the server may have taken it (a timeout)."""

    error: str
    reply: str | None = None
    maybe_delivered: bool = False


@dataclass(frozen=True, kw_only=True)
class Failed:
    error: str
    reply: str | None = None
    recipients: tuple[RecipientOutcome, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Suppressed:
    reason: str


Outcome = Delivered | Retry | Failed | Suppressed


@dataclass(kw_only=True)
class Claim:
    """What one claim did: `rows` to deliver now (detached), the ids of those `taken_over` from
    a sender whose lease ran out, `settled` rows it ended or held without sending (expired,
    superseded, over the hourly cap), and whether more may be due."""

    rows: list[OutboxRecord] = field(default_factory=list)
    taken_over: set[int] = field(default_factory=set)
    settled: int = 0
    more: bool = False


def backoff(attempts: int, policy: ClaimPolicy, rng: random.Random) -> timedelta:
    """Exponential back-off with jitter: base * 2^(attempts-1), capped, times 0.5-1.0."""
    delay: timedelta = min(
        policy.backoff_cap, policy.backoff_base * (2 ** min(max(attempts - 1, 0), 30))
    )
    return delay * (0.5 + rng.random() / 2)


def claim(
    db: Database,
    *,
    owner: str,
    now: datetime,
    channels: Collection[str],
    policy: ClaimPolicy,
    limit: int | None = None,
) -> Claim:
    """Claim up to `limit` (default `policy.batch`) due rows of `channels` for `owner`.

    Rows past their expiry become `expired` instead; rows whose lease ran out are taken over as
    the same attempt, marked `possible_duplicate`. The rows are read and claimed with prebuilt
    statements on the driver's cursor (`store.prepared`); the rows handed back are detached,
    read-only copies (`OutboxRecord.model_construct`, no ORM state: assigning to one fails).
    """
    limit = policy.batch if limit is None else limit
    result = Claim()
    if limit <= 0:
        return result
    with db.transaction() as session:
        rows = _due(session, db, tuple(sorted(channels)), now, limit)
        result.more = len(rows) == limit
        live = []
        for row in rows:
            if row["expires_at"] is not None and row["expires_at"] <= now:
                record = session.get(OutboxRecord, row["id"])
                assert record is not None
                expire(session, record, maybe_sent=row["status"] == CLAIMED)
                result.settled += 1
            else:
                live.append(row)
        fresh = [r for r in live if r["status"] == PENDING and r["channel"] == EMAIL]
        superseded = _supersede(session, fresh, now)
        waiting = _over_cap(session, [r for r in fresh if r["id"] not in superseded], now, policy)
        run_many(session, _SUPPRESS, [{"row_id": i, "error": e} for i, e in superseded.items()])
        run_many(
            session,
            _TO_DIGEST,
            [{"row_id": i, "at": at, "error": e} for i, (at, e) in waiting.items()],
        )
        result.settled += len(superseded) + len(waiting)
        until = now + policy.lease
        counted, taken = [], []
        for row in live:
            if row["id"] in superseded or row["id"] in waiting:
                continue
            if row["status"] == CLAIMED:  # its sender vanished: the same attempt, maybe sent
                row["possible_duplicate"] = True
                result.taken_over.add(row["id"])
                taken.append({"row_id": row["id"], "owner": owner, "until": until})
            else:
                row["attempts"] += 1
                row["first_due_at"] = row["first_due_at"] or row["next_attempt_at"]
                counted.append(
                    {
                        "row_id": row["id"],
                        "owner": owner,
                        "until": until,
                        "attempts": row["attempts"],
                        "first_due": row["first_due_at"],
                    }
                )
            row.update(status=CLAIMED, lease_owner=owner, lease_until=until)
            result.rows.append(OutboxRecord.model_construct(**row))
        run_many(session, _CLAIM_COUNTED, counted)
        run_many(session, _TAKE_OVER, taken)
        return result


_OUTBOX = OutboxRecord.__table__  # type: ignore[attr-defined]
_COLUMNS = [column.key for column in _OUTBOX.c]
_DUE: dict[tuple[tuple[str, ...], bool], tuple[Prepared, Prepared]] = {}


def _due_statements(channels: tuple[str, ...], lock: bool) -> tuple[Prepared, Prepared]:
    """The two reads of `_due` for `channels` (each channel a fixed value in the SQL), built
    once per channel set and locking."""
    found = _DUE.get((channels, lock))
    if found is None:
        t = _OUTBOX.c
        channel = or_(*(t.channel == name for name in channels))
        limit = bindparam("limit", type_=Integer())
        now = bindparam("now", type_=UTCDateTime())
        queries = [
            sa_select(*_OUTBOX.c)
            .where(t.status == CLAIMED, t.lease_until < now, channel)
            .order_by(t.lease_until, t.id)
            .limit(limit),
            sa_select(*_OUTBOX.c)
            .where(
                t.status == PENDING,
                t.delivery == IMMEDIATE,
                t.next_attempt_at <= now,
                channel,
            )
            .order_by(t.next_attempt_at, t.id)
            .limit(limit),
        ]
        if lock:
            queries = [query.with_for_update(skip_locked=True) for query in queries]
        found = _DUE[(channels, lock)] = (Prepared(queries[0]), Prepared(queries[1]))
    return found


def _due(
    session: Session, db: Database, channels: tuple[str, ...], now: datetime, limit: int
) -> list[dict[str, Any]]:
    """Up to `limit` rows to take (as column values): leases that ran out first, then pending
    rows by due time.

    Two statements, each walking `ix_outbox_due` in order, rather than one with OR (which
    would collect and sort every due row for each claim).
    """
    rows: list[dict[str, Any]] = []
    if not channels:
        return rows
    for statement in _due_statements(channels, db.is_postgresql):
        if len(rows) < limit:
            found = fetch(session, statement, {"now": now, "limit": limit - len(rows)})
            rows.extend(dict(zip(_COLUMNS, values, strict=True)) for values in found)
    return rows


def _row_update(**values: Any) -> Prepared:
    """An UPDATE of the outbox row `row_id` (run for many rows at once, `run_many`)."""
    return Prepared(update(_OUTBOX).where(_OUTBOX.c.id == bindparam("row_id")).values(**values))


_OWNER: BindParameter[str] = bindparam("owner", type_=Text())
_UNTIL: BindParameter[datetime] = bindparam("until", type_=UTCDateTime())
_ERROR: BindParameter[str] = bindparam("error", type_=Text())
#: A fresh claim: the next attempt, leased to its sender.
_CLAIM_COUNTED = _row_update(
    status=CLAIMED,
    lease_owner=_OWNER,
    lease_until=_UNTIL,
    attempts=bindparam("attempts", type_=Integer()),
    first_due_at=bindparam("first_due", type_=UTCDateTime()),
)
#: A row whose sender vanished, taken over as the same attempt.
_TAKE_OVER = _row_update(possible_duplicate=True, lease_owner=_OWNER, lease_until=_UNTIL)
#: A reminder superseded by a newer one for the same step.
_SUPPRESS = _row_update(status=SUPPRESSED, last_error=_ERROR)
#: A row over the person's hourly cap, waiting for their digest.
_TO_DIGEST = _row_update(
    delivery=DIGEST, next_attempt_at=bindparam("at", type_=UTCDateTime()), last_error=_ERROR
)


def renew(
    db: Database, *, owner: str, ids: Collection[int], now: datetime, policy: ClaimPolicy
) -> set[int]:
    """Extend `owner`'s leases on `ids` to `now + policy.lease`; returns the ids still held.

    A lease that already ran out is not renewed (another sender may have taken the row, or is
    about to): its id is missing from the answer, and its sender must not send it.
    """
    if not ids:
        return set()
    with db.transaction() as session:
        statement = (
            update(OutboxRecord)
            .where(
                col(OutboxRecord.id).in_(list(ids)),
                col(OutboxRecord.status) == CLAIMED,
                col(OutboxRecord.lease_owner) == owner,
                col(OutboxRecord.lease_until) >= now,
            )
            .values(lease_until=now + policy.lease)
            .returning(col(OutboxRecord.id))
        )
        found = session.connection().execute(statement).scalars()
        return {row_id for row_id in found if row_id is not None}


def release(
    db: Database, *, owner: str, counted: Collection[int], uncounted: Collection[int]
) -> None:
    """Give back rows `owner` claimed and never started: pending again, at once, their attempt
    not counted (`counted`: claims that counted one; `uncounted`: takeovers)."""
    if not counted and not uncounted:
        return
    with db.transaction() as session:
        for ids, undo in ((counted, 1), (uncounted, 0)):
            if ids:
                session.exec(
                    update(OutboxRecord)
                    .where(
                        col(OutboxRecord.id).in_(list(ids)),
                        col(OutboxRecord.status) == CLAIMED,
                        col(OutboxRecord.lease_owner) == owner,
                    )
                    .values(
                        status=PENDING,
                        lease_owner=None,
                        lease_until=None,
                        attempts=col(OutboxRecord.attempts) - undo,
                    )
                )


def expire(session: Session, row: OutboxRecord, *, maybe_sent: bool = False) -> None:
    """End `row` as expired with the reason (never commits); a digest takes its folded
    notices along. `maybe_sent`: its sender vanished while sending it."""
    row.status = EXPIRED
    row.last_error = expiry_reason(row)
    if maybe_sent:
        row.possible_duplicate = True
        row.last_error = (
            f"{row.last_error}; its sender stopped while sending it, so it may have arrived"
        )[:2000]
    row.lease_owner = None
    row.lease_until = None
    session.add(row)
    if row.kind == "digest":
        _settle_folded(session, row, EXPIRED, f"its digest {row.message_id} expired undelivered")


def _supersede(session: Session, rows: Sequence[dict[str, Any]], now: datetime) -> dict[int, str]:
    """Reminders to suppress (by id, with the reason): those to a person for a step when a
    newer one for that step is sent, on its way, or due now: after downtime only the newest
    reminder is worth reading."""
    candidates = [r for r in rows if r["kind"] in SNOOZABLE and r["cycle_id"] is not None]
    if not candidates:
        return {}

    def step(r: Any) -> tuple[object, ...]:
        return (r["person_id"], r["cycle_id"], r["stage"], r["visit"])

    entries = [(step(r), r["created_at"], r["id"], r["message_id"]) for r in candidates]
    keys = {key for key, *_ in entries}
    t = _OUTBOX.c
    siblings = (  # by person (ix_outbox_person_status), only the columns needed
        sa_select(
            t.person_id, t.cycle_id, t.stage, t.visit, t.created_at, t.id, t.message_id
        ).where(
            t.person_id.in_({r["person_id"] for r in candidates}),
            t.id.not_in([r["id"] for r in candidates]),
            t.channel == EMAIL,
            t.kind.in_(SNOOZABLE),
            or_(
                t.status.in_((SENT, CLAIMED)),
                and_(t.status == PENDING, t.delivery == IMMEDIATE, t.next_attempt_at <= now),
            ),
        )
    )
    for found in session.connection().execute(siblings):
        found_key: tuple[object, ...] = (found.person_id, found.cycle_id, found.stage, found.visit)
        if found_key in keys:
            entries.append((found_key, found.created_at, found.id, found.message_id))
    newest: dict[tuple[object, ...], tuple[datetime, int, str]] = {}
    for key, created_at, row_id, message_id in entries:
        if key not in newest or (created_at, row_id) > newest[key][:2]:
            newest[key] = (created_at, row_id, message_id)
    held = {}
    for row in candidates:
        _, winner, message_id = newest[step(row)]
        if winner != row["id"]:
            held[row["id"]] = f"superseded by the newer reminder {message_id}"
    return held


def _over_cap(
    session: Session, rows: Sequence[dict[str, Any]], now: datetime, policy: ClaimPolicy
) -> dict[int, tuple[datetime, str]]:
    """Rows past the person's hourly cap (sent in the last hour or on their way), by id, with
    when their digest is due and why: they go to that digest instead."""
    digestible = [r for r in rows if r["person_id"] is not None and r["kind"] in DIGESTIBLE]
    if not digestible:
        return {}
    counts: Counter[int] = Counter()
    for person_id, count in session.exec(
        select(OutboxRecord.person_id, func.count())
        .where(
            col(OutboxRecord.person_id).in_({r["person_id"] for r in digestible}),
            or_(
                and_(
                    col(OutboxRecord.status) == SENT,
                    col(OutboxRecord.sent_at) >= now - timedelta(hours=1),
                ),
                col(OutboxRecord.status) == CLAIMED,
            ),
        )
        .group_by(col(OutboxRecord.person_id))
    ):
        if person_id is not None:
            counts[person_id] = count
    held = {}
    reason = f"held for the digest: over {policy.hourly_cap} emails in an hour"
    for row in digestible:
        if counts[row["person_id"]] >= policy.hourly_cap:
            prefs = session.get(NotificationPreferenceRecord, row["person_id"])
            hour = prefs.digest_hour if prefs is not None else 8
            zone = str(row["context"].get("timezone", "UTC"))
            held[row["id"]] = (digest_time(now, zone, hour), reason)
        else:
            counts[row["person_id"]] += 1
    return held


def complete(
    db: Database,
    *,
    owner: str,
    now: datetime,
    results: Sequence[tuple[OutboxRecord, Outcome]],
    policy: ClaimPolicy,
    rng: random.Random,
) -> int:
    """Record outcomes for rows `owner` still holds; returns how many were recorded.

    Plain deliveries (the common case, one per message as it happens) take one UPDATE per row
    that names the owner, with no read first; the rest (retries, failures, refused addresses,
    digests) are read and decided row by row.
    """
    if not results:
        return 0
    plain = {
        row.id: outcome
        for row, outcome in results
        if isinstance(outcome, Delivered)
        and row.kind != "digest"
        and all(r.accepted for r in outcome.recipients)
    }
    outcomes = {row.id: outcome for row, outcome in results if row.id not in plain}
    with db.transaction() as session:
        recorded = 0
        if plain:
            recorded += run_many(
                session,
                _SENT,
                [
                    {"row_id": row_id, "owner": owner, "now": now, "answer": o.response[:2000]}
                    for row_id, o in plain.items()
                ],
            )
        if not outcomes:
            return recorded
        query = select(OutboxRecord).where(col(OutboxRecord.id).in_(list(outcomes)))
        if db.is_postgresql:
            query = query.with_for_update()
        for row in session.exec(query.execution_options(populate_existing=True)):
            if row.status != CLAIMED or row.lease_owner != owner:
                continue  # the lease was lost; whoever holds the row now decides
            _apply(session, row, outcomes[row.id], now, policy, rng)
            recorded += 1
        return recorded


#: A plain delivery recorded, only while its sender still holds the row.
_SENT = Prepared(
    update(_OUTBOX)
    .where(
        _OUTBOX.c.id == bindparam("row_id"),
        _OUTBOX.c.status == CLAIMED,
        _OUTBOX.c.lease_owner == bindparam("owner"),
    )
    .values(
        status=SENT,
        sent_at=bindparam("now", type_=UTCDateTime()),
        reply=func.nullif(bindparam("answer", type_=Text()), ""),
        last_error=None,
        lease_owner=None,
        lease_until=None,
    )
)


def _apply(
    session: Session,
    row: OutboxRecord,
    outcome: Outcome,
    now: datetime,
    policy: ClaimPolicy,
    rng: random.Random,
) -> None:
    row.lease_owner = None
    row.lease_until = None
    if isinstance(outcome, Delivered):
        row.status = SENT
        row.sent_at = now
        row.reply = outcome.response[:2000] or None
        refused = [r for r in outcome.recipients if not r.accepted]
        row.last_error = (
            "refused: " + "; ".join(f"{r.address} {r.code} {r.reply}" for r in refused)
            if refused
            else None
        )
        if refused:
            _record_recipients(session, row, outcome.recipients, now)
        if row.kind == "digest":
            _settle_folded(session, row, DIGESTED, None, sent_at=now)
    elif isinstance(outcome, Retry):
        row.last_error = outcome.error[:2000]
        row.reply = outcome.reply[:2000] if outcome.reply else row.reply
        row.possible_duplicate = row.possible_duplicate or outcome.maybe_delivered
        if row.expires_at is not None and row.expires_at <= now:
            expire(session, row)
            return
        row.status = PENDING
        row.next_attempt_at = now + backoff(row.attempts, policy, rng)
    elif isinstance(outcome, Failed):
        row.status = FAILED
        row.last_error = outcome.error[:2000]
        row.reply = outcome.reply[:2000] if outcome.reply else None
        _record_recipients(session, row, outcome.recipients, now)
        if row.kind == "digest":
            reason = f"its digest {row.message_id} failed: {row.last_error}"
            _settle_folded(session, row, FAILED, reason)
    else:
        row.status = SUPPRESSED
        row.last_error = outcome.reason[:2000]
    session.add(row)


def _settle_folded(
    session: Session,
    digest: OutboxRecord,
    status: str,
    reason: str | None,
    *,
    sent_at: datetime | None = None,
) -> None:
    """Give the notices folded into `digest` its fate: delivered with it (they stay `digested`,
    now with `sent_at`), or failed or expired with it, with `reason`."""
    values: dict[str, object] = {"status": status}
    if sent_at is not None:
        values["sent_at"] = sent_at
    if reason is not None:
        values["last_error"] = reason[:2000]
    session.exec(
        update(OutboxRecord)
        .where(col(OutboxRecord.digest_id) == digest.id, col(OutboxRecord.status) == DIGESTED)
        .values(**values)
    )


def _record_recipients(
    session: Session, row: OutboxRecord, recipients: Sequence[RecipientOutcome], now: datetime
) -> None:
    assert row.id is not None
    for result in recipients:
        session.add(
            OutboxRecipientRecord(
                outbox_id=row.id,
                address=result.address,
                accepted=result.accepted,
                code=result.code,
                reply=result.reply,
                at=now,
            )
        )
