"""outbox: email (and webhook) deliveries, per-recipient results, notification preferences,
and the single-use record of actions taken from email links

Revision ID: 0004_outbox
Revises: 0001_core
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

import cycle_engine.store.tables.types

revision = "0004_outbox"
down_revision = "0001_core"
branch_labels = None
depends_on = None

UTC_DATETIME = cycle_engine.store.tables.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "email_action_uses",
        sa.Column("use_key", AutoString(length=300), nullable=False),
        sa.Column("action", AutoString(length=30), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("stage_visit_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("snoozed_until", UTC_DATETIME, nullable=True),
        sa.Column("used_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("use_key"),
    )
    with op.batch_alter_table("email_action_uses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_email_action_uses_cycle_id"), ["cycle_id"], unique=False
        )

    op.create_table(
        "notification_preferences",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("mode", AutoString(length=20), nullable=False),
        sa.Column("digest_hour", sa.Integer(), nullable=False),
        sa.Column("unsubscribed", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("person_id"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", AutoString(length=20), nullable=False),
        sa.Column("kind", AutoString(length=50), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=True),
        sa.Column("stage", AutoString(length=100), nullable=True),
        sa.Column("visit", sa.Integer(), nullable=True),
        sa.Column("rule", AutoString(length=100), nullable=False),
        sa.Column("occurrence", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("recipient", AutoString(length=500), nullable=False),
        sa.Column("language", AutoString(length=10), nullable=False),
        sa.Column("dedupe_key", AutoString(length=700), nullable=False),
        sa.Column("message_id", AutoString(length=250), nullable=False),
        sa.Column("delivery", AutoString(length=20), nullable=False),
        sa.Column("not_before", UTC_DATETIME, nullable=False),
        sa.Column("status", AutoString(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC_DATETIME, nullable=False),
        sa.Column("lease_owner", AutoString(length=100), nullable=True),
        sa.Column("lease_until", UTC_DATETIME, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", UTC_DATETIME, nullable=True),
        sa.Column("digest_id", sa.Integer(), nullable=True),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_cycle_id"), ["cycle_id"], unique=False)
        batch_op.create_index(
            "ix_outbox_due", ["status", "delivery", "next_attempt_at"], unique=False
        )
        batch_op.create_index("ix_outbox_person_status", ["person_id", "status"], unique=False)

    op.create_table(
        "outbox_recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("address", AutoString(length=500), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("code", sa.Integer(), nullable=True),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("outbox_recipients", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbox_recipients_outbox_id"), ["outbox_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_recipients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_recipients_outbox_id"))

    op.drop_table("outbox_recipients")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_person_status")
        batch_op.drop_index("ix_outbox_due")
        batch_op.drop_index(batch_op.f("ix_outbox_cycle_id"))

    op.drop_table("outbox")
    op.drop_table("notification_preferences")
    with op.batch_alter_table("email_action_uses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_email_action_uses_cycle_id"))

    op.drop_table("email_action_uses")
