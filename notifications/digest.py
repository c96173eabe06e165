"""Daily digests: a person who chose them gets one email at their local digest hour.

Rows for digest readers are written with `delivery="digest"` and `next_attempt_at` at their next
digest hour (their time zone), by `cycle_engine.outbox.enqueue`. Each sender pass first folds
every due digest row of a person into one new "digest" row (sent like any other) and marks the
folded rows `digested`, pointing at it. A folded notice is kept, not delivered, until its digest
is: it gets its `sent_at` when the digest is sent, and fails or expires with the digest
(`outbox.claims`), which stays worth sending as long as its longest-lived notice. Notices past
their own expiry by their digest hour expire instead of being folded. The fold is one
transaction; on PostgreSQL the rows are taken with `SKIP LOCKED` and the digest's dedupe key is
unique, so two senders never build the same digest twice. Kept in the sender loop (rather than
as a scheduler timer) so that one `cycle-engine mail send` process is enough for every email,
digests included.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from cycle_engine.outbox.claims import expire
from cycle_engine.outbox.enqueue import insert_ignoring_duplicate, new_message_id
from cycle_engine.store.db import Database
from cycle_engine.store.tables.outbox import (
    DIGEST,
    DIGESTED,
    EMAIL,
    IMMEDIATE,
    PENDING,
    OutboxRecord,
)

#: Most notices folded into one digest; the rest go into the next one.
MAX_ITEMS = 200


def _item(row: OutboxRecord) -> dict[str, Any]:
    context = row.context
    return {
        "id": row.id,
        "kind": row.kind,
        "cycle": context.get("cycle"),
        "stage": context.get("stage"),
        "details": context.get("details", {}),
        "actions": context.get("actions", []),
    }


def collect_digests(db: Database, now: datetime, *, limit: int = 2000) -> int:
    """Fold every due digest row into one digest row per person; returns digests made."""
    with db.transaction() as session:
        query = (
            select(OutboxRecord)
            .where(
                col(OutboxRecord.channel) == EMAIL,
                col(OutboxRecord.status) == PENDING,
                col(OutboxRecord.delivery) == DIGEST,
                col(OutboxRecord.next_attempt_at) <= now,
            )
            .order_by(col(OutboxRecord.person_id), col(OutboxRecord.id))
            .limit(limit)
        )
        if db.is_postgresql:
            query = query.with_for_update(skip_locked=True)
        by_person: dict[int, list[OutboxRecord]] = defaultdict(list)
        for row in session.exec(query):
            if row.expires_at is not None and row.expires_at <= now:
                expire(session, row)
            elif row.person_id is not None and len(by_person[row.person_id]) < MAX_ITEMS:
                by_person[row.person_id].append(row)
        made = 0
        for person_id, rows in by_person.items():
            latest = rows[-1]
            context = latest.context
            key = f"digest:{person_id}:{rows[0].id}"
            expiries = [row.expires_at for row in rows]
            digest = OutboxRecord(
                channel=EMAIL,
                kind="digest",
                rule="digest",
                occurrence=rows[0].id or 0,
                person_id=person_id,
                recipient=latest.recipient,
                language=latest.language,
                dedupe_key=key,
                message_id=new_message_id(),
                delivery=IMMEDIATE,
                not_before=now,
                next_attempt_at=now,
                first_due_at=min(row.next_attempt_at for row in rows),
                expires_at=max(e for e in expiries if e) if all(expiries) else None,
                created_at=now,
                context={
                    "person": context.get("person"),
                    "organisation": context.get("organisation"),
                    "timezone": context.get("timezone", "UTC"),
                    "role": "person",
                    "actions": [],
                    "items": [_item(row) for row in rows],
                },
            )
            digest_id = insert_ignoring_duplicate(session, digest)
            if digest_id is None:
                continue
            for row in rows:
                row.status = DIGESTED
                row.digest_id = digest_id
                session.add(row)
            made += 1
        return made
