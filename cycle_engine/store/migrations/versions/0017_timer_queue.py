"""speed (issue 16): the due-queue carries each timer's own due time

A claim returned each timer's due time (to fire a batch in due order) and, for leases that end
implausibly far ahead, compared it with "now": both read the wide `timers` row, a primary-key
look-up into a large table per claimed timer (on PostgreSQL most of a claim's time with
1,000,000 timers). `timer_queue.timer_due_at` holds it beside the row's `due_at` (when to look
at the timer next), so a claim reads and writes the narrow queue alone, and a release puts the
row back at its timer's time without reading `timers` either. The triggers that keep the queue
in step with `timers` now write it too; the upgrade fills it for the rows already queued.

Revision ID: 0017_timer_queue
Revises: 0016_dashboard_counters
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cycle_engine.store.tables.types import UTCDateTime

revision = "0017_timer_queue"
down_revision = "0016_dashboard_counters"
branch_labels = None
depends_on = None

#: The queue triggers of `0011_fast_path`, with the timer's own due time, by dialect.
SQLITE = [
    """
    CREATE TRIGGER ce_queue_timer_insert AFTER INSERT ON timers
    WHEN NEW.status IN ('pending', 'claimed')
    BEGIN
        INSERT INTO timer_queue (timer_id, cycle_id, due_at, lease_owner, timer_due_at)
        VALUES (NEW.id, NEW.cycle_id, coalesce(NEW.lease_until, NEW.due_at), NEW.lease_owner,
                NEW.due_at);
    END
    """,
    """
    CREATE TRIGGER ce_queue_timer_update AFTER UPDATE OF status, due_at ON timers
    WHEN OLD.status IS NOT NEW.status OR OLD.due_at IS NOT NEW.due_at
    BEGIN
        DELETE FROM timer_queue
        WHERE timer_id = NEW.id AND NEW.status NOT IN ('pending', 'claimed');
        INSERT INTO timer_queue (timer_id, cycle_id, due_at, lease_owner, timer_due_at)
        SELECT NEW.id, NEW.cycle_id, NEW.due_at, NULL, NEW.due_at
        WHERE NEW.status IN ('pending', 'claimed')
        ON CONFLICT (timer_id) DO UPDATE SET
            due_at = excluded.due_at, lease_owner = NULL, timer_due_at = excluded.timer_due_at;
    END
    """,
]
POSTGRESQL = """
    CREATE OR REPLACE FUNCTION ce_queue_timer() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.status NOT IN ('pending', 'claimed') THEN
            DELETE FROM timer_queue WHERE timer_id = NEW.id;
        ELSIF TG_OP = 'INSERT' THEN
            INSERT INTO timer_queue (timer_id, cycle_id, due_at, lease_owner, timer_due_at)
            VALUES (NEW.id, NEW.cycle_id, coalesce(NEW.lease_until, NEW.due_at),
                    NEW.lease_owner, NEW.due_at);
        ELSE
            INSERT INTO timer_queue AS queue (timer_id, cycle_id, due_at, lease_owner,
                                              timer_due_at)
            VALUES (NEW.id, NEW.cycle_id, NEW.due_at, NULL, NEW.due_at)
            ON CONFLICT (timer_id) DO UPDATE SET
                due_at = excluded.due_at, lease_owner = NULL,
                timer_due_at = excluded.timer_due_at;
        END IF;
        RETURN NULL;
    END $$
"""
#: The same triggers as `0011_fast_path` made them (the downgrade's).
OLD_SQLITE = [
    """
    CREATE TRIGGER ce_queue_timer_insert AFTER INSERT ON timers
    WHEN NEW.status IN ('pending', 'claimed')
    BEGIN
        INSERT INTO timer_queue (timer_id, cycle_id, due_at, lease_owner)
        VALUES (NEW.id, NEW.cycle_id, coalesce(NEW.lease_until, NEW.due_at), NEW.lease_owner);
    END
    """,
    """
    CREATE TRIGGER ce_queue_timer_update AFTER UPDATE OF status, due_at ON timers
    WHEN OLD.status IS NOT NEW.status OR OLD.due_at IS NOT NEW.due_at
    BEGIN
        DELETE FROM timer_queue
        WHERE timer_id = NEW.id AND NEW.status NOT IN ('pending', 'claimed');
        INSERT INTO timer_queue (timer_id, cycle_id, due_at, lease_owner)
        SELECT NEW.id, NEW.cycle_id, NEW.due_at, NULL
        WHERE NEW.status IN ('pending', 'claimed')
        ON CONFLICT (timer_id) DO UPDATE SET due_at = excluded.due_at, lease_owner = NULL;
    END
    """,
]
OLD_POSTGRESQL = """
    CREATE OR REPLACE FUNCTION ce_queue_timer() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.status NOT IN ('pending', 'claimed') THEN
            DELETE FROM timer_queue WHERE timer_id = NEW.id;
        ELSIF TG_OP = 'INSERT' THEN
            INSERT INTO timer_queue (timer_id, cycle_id, due_at, lease_owner)
            VALUES (NEW.id, NEW.cycle_id, coalesce(NEW.lease_until, NEW.due_at),
                    NEW.lease_owner);
        ELSE
            INSERT INTO timer_queue AS queue (timer_id, cycle_id, due_at, lease_owner)
            VALUES (NEW.id, NEW.cycle_id, NEW.due_at, NULL)
            ON CONFLICT (timer_id) DO UPDATE SET
                due_at = excluded.due_at, lease_owner = NULL;
        END IF;
        RETURN NULL;
    END $$
"""
TRIGGERS = ("ce_queue_timer_insert", "ce_queue_timer_update")
FILL = (
    "UPDATE timer_queue SET timer_due_at = "
    "(SELECT timers.due_at FROM timers WHERE timers.id = timer_queue.timer_id)"
)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.add_column("timer_queue", sa.Column("timer_due_at", UTCDateTime(timezone=True)))
    op.execute(FILL)
    if postgres:
        op.alter_column("timer_queue", "timer_due_at", nullable=False)
        op.execute(POSTGRESQL)
        return
    for name in TRIGGERS:  # (they name the queue, which SQLite will not rename under them)
        op.execute(f"DROP TRIGGER {name}")
    with op.batch_alter_table("timer_queue") as batch:  # SQLite: a copy with the constraint
        batch.alter_column("timer_due_at", existing_type=UTCDateTime(timezone=True), nullable=False)
    for statement in SQLITE:
        op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(OLD_POSTGRESQL)
        op.drop_column("timer_queue", "timer_due_at")
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER {name}")
    with op.batch_alter_table("timer_queue") as batch:
        batch.drop_column("timer_due_at")
    for statement in OLD_SQLITE:
        op.execute(statement)
