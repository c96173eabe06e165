"""timers: durable timers, stall flags, and an index of open stage visits by deadline

Revision ID: 0003_timers
Revises: 0001_core
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

from cycle_engine.store.tables.types import UTCDateTime

revision = "0003_timers"
down_revision = "0001_core"
branch_labels = None
depends_on = None

UTC_DATETIME = UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "timers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", AutoString(length=20), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=True),
        sa.Column("stage_visit_id", sa.Integer(), nullable=True),
        sa.Column("stage", AutoString(length=100), nullable=True),
        sa.Column("rule", AutoString(length=100), nullable=False),
        sa.Column("occurrence", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("due_at", UTC_DATETIME, nullable=False),
        sa.Column("status", AutoString(length=20), nullable=False),
        sa.Column("lease_owner", AutoString(length=200), nullable=True),
        sa.Column("lease_until", UTC_DATETIME, nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("fired_at", UTC_DATETIME, nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", AutoString(length=1000), nullable=True),
        sa.Column("dedupe_key", AutoString(length=300), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycles.id"]),
        sa.ForeignKeyConstraint(["stage_visit_id"], ["stage_visits.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key", name="uq_timers_dedupe_key"),
    )
    with op.batch_alter_table("timers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_timers_cycle_id"), ["cycle_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_timers_stage_visit_id"), ["stage_visit_id"], unique=False
        )
        batch_op.create_index(
            "ix_timers_pending_due",
            ["due_at", "id"],
            unique=False,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )
        batch_op.create_index(
            "ix_timers_claimed_lease",
            ["lease_until"],
            unique=False,
            sqlite_where=sa.text("status = 'claimed'"),
            postgresql_where=sa.text("status = 'claimed'"),
        )

    op.create_table(
        "stall_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("stage_visit_id", sa.Integer(), nullable=False),
        sa.Column("stage", AutoString(length=100), nullable=False),
        sa.Column("reason", AutoString(length=40), nullable=False),
        sa.Column("detail", AutoString(length=500), nullable=False),
        sa.Column("since", UTC_DATETIME, nullable=False),
        sa.Column("cleared_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycles.id"]),
        sa.ForeignKeyConstraint(["stage_visit_id"], ["stage_visits.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("stall_flags", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stall_flags_stage_visit_id"), ["stage_visit_id"], unique=False
        )
        batch_op.create_index(
            "ix_stall_flags_active",
            ["cycle_id", "stage_visit_id"],
            unique=False,
            sqlite_where=sa.text("cleared_at IS NULL"),
            postgresql_where=sa.text("cleared_at IS NULL"),
        )

    with op.batch_alter_table("stage_visits", schema=None) as batch_op:
        batch_op.create_index(
            "ix_stage_visits_open_due",
            ["due_at"],
            unique=False,
            sqlite_where=sa.text("left_at IS NULL"),
            postgresql_where=sa.text("left_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("stage_visits", schema=None) as batch_op:
        batch_op.drop_index("ix_stage_visits_open_due")
    with op.batch_alter_table("stall_flags", schema=None) as batch_op:
        batch_op.drop_index("ix_stall_flags_active")
        batch_op.drop_index(batch_op.f("ix_stall_flags_stage_visit_id"))
    op.drop_table("stall_flags")
    with op.batch_alter_table("timers", schema=None) as batch_op:
        batch_op.drop_index("ix_timers_claimed_lease")
        batch_op.drop_index("ix_timers_pending_due")
        batch_op.drop_index(batch_op.f("ix_timers_stage_visit_id"))
        batch_op.drop_index(batch_op.f("ix_timers_cycle_id"))
    op.drop_table("timers")
