"""How delivery is doing, in numbers an operator can alert on: outbox rows per channel and status
(pending, claimed, sent, failed, ...) and how long the oldest due message has been waiting.

Read on every metrics scrape (`cycle_engine.metrics`), so it is two aggregate queries. "Waiting"
counts from when the message was first due (`first_due_at`), not from its latest retry time, so a
message that keeps failing looks older and older, as it should.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Table, func, select
from sqlmodel import Session

from cycle_engine.clock import as_utc
from cycle_engine.store.tables.outbox import OUTBOX_STATUSES, PENDING, OutboxRecord


@dataclass(frozen=True, kw_only=True)
class ChannelHealth:
    """One channel's rows by status (every status present, zeros included) and when its oldest
    due, still pending message was first due."""

    channel: str
    statuses: dict[str, int] = field(default_factory=dict)
    oldest_due_at: datetime | None = None

    def oldest_pending_age(self, now: datetime) -> float:
        """Seconds the oldest due pending message has waited (0 when none waits)."""
        if self.oldest_due_at is None:
            return 0.0
        return max(0.0, (now - self.oldest_due_at).total_seconds())


def outbox_health(
    session: Session, now: datetime, channels: tuple[str, ...] = ()
) -> list[ChannelHealth]:
    """Per channel (those in the table, plus `channels`): rows by status, oldest due pending."""
    outbox: Table = OutboxRecord.__table__  # type: ignore[attr-defined]
    connection = session.connection()
    counts: dict[str, dict[str, int]] = {
        name: dict.fromkeys(OUTBOX_STATUSES, 0) for name in channels
    }
    grouped = select(outbox.c.channel, outbox.c.status, func.count()).group_by(
        outbox.c.channel, outbox.c.status
    )
    for channel, status, count in connection.execute(grouped):
        counts.setdefault(channel, dict.fromkeys(OUTBOX_STATUSES, 0))[status] = int(count)
    first_due = func.coalesce(outbox.c.first_due_at, outbox.c.next_attempt_at)
    oldest_query = (
        select(outbox.c.channel, func.min(first_due))
        .where(outbox.c.status == PENDING, outbox.c.next_attempt_at <= now)
        .group_by(outbox.c.channel)
    )
    oldest = {channel: _aware(moment) for channel, moment in connection.execute(oldest_query)}
    return [
        ChannelHealth(channel=name, statuses=statuses, oldest_due_at=oldest.get(name))
        for name, statuses in sorted(counts.items())
    ]


def _aware(moment: datetime | None) -> datetime | None:
    """`min()` of a coalesce may come back naive (SQLite) or as text; make it aware UTC."""
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return as_utc(moment)
