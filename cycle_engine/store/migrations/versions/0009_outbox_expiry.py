"""outbox rows retried until they expire: when each stops being worth sending, when it was
first due, whether an earlier attempt may have been delivered, and the server's last reply

Waiting rows (`pending`, `claimed`) get an expiry: a reminder's and a "stage started" email's is
the step's deadline (`due_today` a day after it), a sign-in email's its link's, every other
email's some days after it was written (thirty by default), a webhook's seven. Rows an earlier
release gave up on after a fixed number of temporary failures ("gave up after N attempts") wait
again, with the same rule: what is still worth sending goes out, the rest expires with a reason
at the next claim. SQLite rebuilds the table (batch mode); PostgreSQL adds the columns in place.

Revision ID: 0009_outbox_expiry
Revises: 0008_foreign_keys
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op

import cycle_engine.store.tables.types
from cycle_engine.clock import as_utc

revision = "0009_outbox_expiry"
down_revision = "0008_foreign_keys"
branch_labels = None
depends_on = None

UTC_DATETIME = cycle_engine.store.tables.types.UTCDateTime(timezone=True)

#: The lifetimes of `cycle_engine.outbox.expiry` as this revision knows them.
EMAIL_LIFETIME = timedelta(days=30)
WEBHOOK_LIFETIME = timedelta(days=7)
UNTIL_DEADLINE = {
    "reminder": timedelta(0),
    "stage_started": timedelta(0),
    "due_today": timedelta(days=1),
}
LIFETIMES = {
    "reminder": timedelta(days=7),
    "due_today": timedelta(days=1),
    "overdue": timedelta(days=7),
    "fresh_link": timedelta(days=1),
}
GAVE_UP = "gave up after %"


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("first_due_at", UTC_DATETIME, nullable=True))
        batch_op.add_column(sa.Column("expires_at", UTC_DATETIME, nullable=True))
        batch_op.add_column(
            sa.Column("possible_duplicate", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("reply", sa.Text(), nullable=True))
    outbox = sa.table(
        "outbox",
        sa.column("id", sa.Integer()),
        sa.column("channel", sa.String()),
        sa.column("kind", sa.String()),
        sa.column("status", sa.String()),
        sa.column("last_error", sa.Text()),
        sa.column("context", sa.JSON()),
        sa.column("created_at", UTC_DATETIME),
        sa.column("expires_at", UTC_DATETIME),
    )
    connection = op.get_bind()
    waiting = sa.or_(
        outbox.c.status.in_(("pending", "claimed")),
        sa.and_(outbox.c.status == "failed", outbox.c.last_error.like(GAVE_UP)),
    )
    rows = connection.execute(
        sa.select(
            outbox.c.id,
            outbox.c.channel,
            outbox.c.kind,
            outbox.c.status,
            outbox.c.context,
            outbox.c.created_at,
        ).where(waiting)
    ).all()
    for row in rows:
        values: dict[str, Any] = {"expires_at": _expiry(row)}
        if row.status == "failed":  # given up on by a fixed count: waits again
            values["status"] = "pending"
        connection.execute(sa.update(outbox).where(outbox.c.id == row.id).values(**values))


def _moment(value: Any) -> datetime | None:
    return as_utc(datetime.fromisoformat(value)) if isinstance(value, str) else None


def _expiry(row: Any) -> datetime:
    """`cycle_engine.outbox.expiry` as this revision knows it (kept here, so a later change of
    the rules does not change what this upgrade did)."""
    created = as_utc(row.created_at)
    if row.channel == "webhook":
        return created + WEBHOOK_LIFETIME
    context = row.context or {}
    if row.kind == "signin":
        return _moment(context.get("expires_at")) or created + timedelta(hours=1)
    deadline = _moment((context.get("stage") or {}).get("due_at"))
    grace = UNTIL_DEADLINE.get(row.kind)
    if grace is not None and deadline is not None and deadline + grace > created:
        return deadline + grace
    return created + LIFETIMES.get(row.kind, EMAIL_LIFETIME)


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("reply")
        batch_op.drop_column("possible_duplicate")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("first_due_at")
