"""dashboard: used sign-in links, browser sessions, stage visits by the time they were left

Revision ID: 0006_dashboard
Revises: 0001_core
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cycle_engine.store.tables.types

revision = "0006_dashboard"
down_revision = "0001_core"
branch_labels = None
depends_on = None

UTC_DATETIME = cycle_engine.store.tables.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dashboard_signin_uses",
        sa.Column("token_id", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
        sa.Column("used_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("token_id"),
    )
    with op.batch_alter_table("dashboard_signin_uses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dashboard_signin_uses_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "dashboard_sessions",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
        sa.Column("last_seen_at", UTC_DATETIME, nullable=False),
        sa.Column("ended_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("key_hash"),
    )
    with op.batch_alter_table("dashboard_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dashboard_sessions_person_id"), ["person_id"], unique=False
        )

    with op.batch_alter_table("stage_visits", schema=None) as batch_op:
        batch_op.create_index("ix_stage_visits_left_at", ["left_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("stage_visits", schema=None) as batch_op:
        batch_op.drop_index("ix_stage_visits_left_at")
    with op.batch_alter_table("dashboard_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dashboard_sessions_person_id"))
    op.drop_table("dashboard_sessions")
    with op.batch_alter_table("dashboard_signin_uses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dashboard_signin_uses_person_id"))
    op.drop_table("dashboard_signin_uses")
