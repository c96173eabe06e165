"""everything over HTTP: the alliance's own history and archived organisations

New tables only (no existing row changes): `alliance_events`, one line per correction to an
alliance's records (who changed what, when, from which values to which), and
`organisation_archives`, organisations archived with their history kept. Keys and role grants
were already rows; idempotent answers keep using `api_idempotency`.

Revision ID: 0013_http_resources
Revises: 0012_learning_agenda
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

from cycle_engine.store.tables.types import UTCDateTime

revision = "0013_http_resources"
down_revision = "0012_learning_agenda"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alliance_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alliance_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", AutoString(length=200), nullable=False),
        sa.Column("kind", AutoString(length=40), nullable=False),
        sa.Column("subject", AutoString(length=100), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["alliance_id"], ["alliances.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alliance_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alliance_events_alliance_id"), ["alliance_id"], unique=False
        )
    op.create_table(
        "organisation_archives",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("archived_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("archived_by", AutoString(length=200), nullable=False),
        sa.Column("reason", AutoString(length=2000), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"]),
        sa.PrimaryKeyConstraint("organisation_id"),
    )


def downgrade() -> None:
    op.drop_table("organisation_archives")
    with op.batch_alter_table("alliance_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alliance_events_alliance_id"))
    op.drop_table("alliance_events")
