"""Claiming outbox rows with a lease, and recording what delivering them did.

Any number of senders may run against one database. A sender claims a batch in one short
transaction (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two senders never take the same row;
SQLite's `BEGIN IMMEDIATE` serialises the claim), delivers outside any transaction, then records
each outcome only while it still holds the row's lease. A sender that dies leaves its rows
claimed until the lease runs out; another sender then takes them again: at most one resend,
with the same Message-ID.

While claiming, two rules keep a person from being flooded after downtime: of several due
reminders for the same step only the newest is sent (the others are `suppressed` as
superseded), and past `hourly_cap` emails in an hour the rest wait for the person's digest.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from cycle_engine.outbox.enqueue import DIGESTIBLE, SNOOZABLE, digest_time
from cycle_engine.store.db import Database
from cycle_engine.store.tables.outbox import (
    CLAIMED,
    DIGEST,
    EMAIL,
    FAILED,
    IMMEDIATE,
    PENDING,
    SENT,
    SUPPRESSED,
    NotificationPreferenceRecord,
    OutboxRecipientRecord,
    OutboxRecord,
)


@dataclass(frozen=True, kw_only=True)
class ClaimPolicy:
    """How senders claim and retry: lease length, batch size, flood cap and back-off."""

    lease: timedelta = timedelta(minutes=5)
    batch: int = 100
    hourly_cap: int = 10
    max_attempts: int = 8
    backoff_base: timedelta = timedelta(minutes=1)
    backoff_cap: timedelta = timedelta(hours=6)


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
    error: str


@dataclass(frozen=True, kw_only=True)
class Failed:
    error: str
    recipients: tuple[RecipientOutcome, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Suppressed:
    reason: str


Outcome = Delivered | Retry | Failed | Suppressed


def backoff(attempts: int, policy: ClaimPolicy, rng: random.Random) -> timedelta:
    """Exponential back-off with jitter: base * 2^(attempts-1), capped, times 0.5-1.0."""
    delay: timedelta = min(policy.backoff_cap, policy.backoff_base * (2 ** max(attempts - 1, 0)))
    return delay * (0.5 + rng.random() / 2)


def claim(
    db: Database,
    *,
    owner: str,
    now: datetime,
    channels: Collection[str],
    policy: ClaimPolicy,
) -> list[OutboxRecord]:
    """Claim up to `policy.batch` due rows of `channels` for `owner`; returns them (detached)."""
    with db.transaction() as session:
        due = or_(
            and_(
                col(OutboxRecord.status) == PENDING,
                col(OutboxRecord.delivery) == IMMEDIATE,
                col(OutboxRecord.next_attempt_at) <= now,
            ),
            and_(col(OutboxRecord.status) == CLAIMED, col(OutboxRecord.lease_until) < now),
        )
        query = (
            select(OutboxRecord)
            .where(col(OutboxRecord.channel).in_(list(channels)), due)
            .order_by(col(OutboxRecord.next_attempt_at), col(OutboxRecord.id))
            .limit(policy.batch)
        )
        if db.is_postgresql:
            query = query.with_for_update(skip_locked=True)
        rows = list(session.exec(query))
        fresh = [r for r in rows if r.status == PENDING and r.channel == EMAIL]
        held = _supersede(fresh) | _over_cap(session, fresh, now, policy)
        claimed = []
        for row in rows:
            if row.id in held:
                session.add(row)
                continue
            row.status = CLAIMED
            row.lease_owner = owner
            row.lease_until = now + policy.lease
            row.attempts += 1
            session.add(row)
            claimed.append(row)
        return claimed


def _supersede(rows: Sequence[OutboxRecord]) -> set[int]:
    """Of several due reminders to one person for one step, suppress all but the newest."""
    newest: dict[tuple[object, ...], OutboxRecord] = {}
    for row in rows:
        if row.kind not in SNOOZABLE:
            continue
        key = (row.person_id, row.cycle_id, row.stage, row.visit)
        current = newest.get(key)
        if current is None or (row.created_at, row.id or 0) > (current.created_at, current.id or 0):
            newest[key] = row
    held = set()
    for row in rows:
        key = (row.person_id, row.cycle_id, row.stage, row.visit)
        winner = newest.get(key)
        if row.kind in SNOOZABLE and winner is not None and winner is not row:
            row.status = SUPPRESSED
            row.last_error = f"superseded by the newer reminder {winner.message_id}"
            assert row.id is not None
            held.add(row.id)
    return held


def _over_cap(
    session: Session, rows: Sequence[OutboxRecord], now: datetime, policy: ClaimPolicy
) -> set[int]:
    """Rows past the person's hourly cap go to their next digest instead."""
    people = {r.person_id for r in rows if r.person_id is not None and r.kind in DIGESTIBLE}
    if not people:
        return set()
    counts: Counter[int] = Counter()
    for person_id, count in session.exec(
        select(OutboxRecord.person_id, func.count())
        .where(
            col(OutboxRecord.person_id).in_(people),
            col(OutboxRecord.status) == SENT,
            col(OutboxRecord.sent_at) >= now - timedelta(hours=1),
        )
        .group_by(col(OutboxRecord.person_id))
    ):
        if person_id is not None:
            counts[person_id] = count
    held = set()
    for row in rows:
        if row.status != PENDING or row.person_id is None or row.kind not in DIGESTIBLE:
            continue
        if counts[row.person_id] >= policy.hourly_cap:
            prefs = session.get(NotificationPreferenceRecord, row.person_id)
            hour = prefs.digest_hour if prefs is not None else 8
            row.delivery = DIGEST
            row.next_attempt_at = digest_time(now, str(row.context.get("timezone", "UTC")), hour)
            row.last_error = f"held for the digest: over {policy.hourly_cap} emails in an hour"
            assert row.id is not None
            held.add(row.id)
        else:
            counts[row.person_id] += 1
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
    """Record outcomes for rows `owner` still holds; returns how many were recorded."""
    if not results:
        return 0
    outcomes = {row.id: outcome for row, outcome in results}
    with db.transaction() as session:
        query = select(OutboxRecord).where(col(OutboxRecord.id).in_(list(outcomes)))
        if db.is_postgresql:
            query = query.with_for_update()
        recorded = 0
        for row in session.exec(query.execution_options(populate_existing=True)):
            if row.status != CLAIMED or row.lease_owner != owner:
                continue  # the lease was lost; whoever holds the row now decides
            _apply(session, row, outcomes[row.id], now, policy, rng)
            recorded += 1
        return recorded


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
        refused = [r for r in outcome.recipients if not r.accepted]
        row.last_error = (
            "refused: " + "; ".join(f"{r.address} {r.code} {r.reply}" for r in refused)
            if refused
            else None
        )
        if refused:
            _record_recipients(session, row, outcome.recipients, now)
    elif isinstance(outcome, Retry):
        row.last_error = outcome.error[:2000]
        if row.attempts >= policy.max_attempts:
            row.status = FAILED
            row.last_error = f"gave up after {row.attempts} attempts: {outcome.error}"[:2000]
        else:
            row.status = PENDING
            row.next_attempt_at = now + backoff(row.attempts, policy, rng)
    elif isinstance(outcome, Failed):
        row.status = FAILED
        row.last_error = outcome.error[:2000]
        _record_recipients(session, row, outcome.recipients, now)
    else:
        row.status = SUPPRESSED
        row.last_error = outcome.reason[:2000]
    session.add(row)


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
