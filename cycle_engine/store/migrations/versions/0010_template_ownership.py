"""templates belong to an alliance or are built-in, can be retired, and plans move running
cycles from one version to another

Every template published so far becomes built-in (global, `alliance_id` NULL) and published:
before this revision no template had an owner, so none is taken away from anyone. A key was
unique among all templates; now it is unique per owner, so the two unique constraints on
(key, version) and (key, content hash) give way to two partial unique indexes: (key, version)
among the built-in templates, (alliance, key, version) within each alliance. The new table
`template_migrations` holds the plans. SQLite rebuilds the templates table (batch mode);
PostgreSQL alters it in place.

Revision ID: 0010_template_ownership
Revises: 0009_outbox_expiry
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

from cycle_engine.store.tables.types import UTCDateTime

revision = "0010_template_ownership"
down_revision = "0009_outbox_expiry"
branch_labels = None
depends_on = None

BUILTIN = sa.text("alliance_id IS NULL")
OWNED = sa.text("alliance_id IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("templates") as batch_op:
        batch_op.add_column(sa.Column("alliance_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("status", AutoString(length=20), nullable=False, server_default="published")
        )
        batch_op.add_column(
            sa.Column(
                "published_by", AutoString(length=200), nullable=False, server_default="system"
            )
        )
        batch_op.drop_constraint("uq_templates_key_hash", type_="unique")
        batch_op.drop_constraint("uq_templates_key_version", type_="unique")
        batch_op.create_foreign_key(
            "fk_templates_alliance_id", "alliances", ["alliance_id"], ["id"]
        )
        batch_op.create_index("ix_templates_alliance_id", ["alliance_id"], unique=False)
    op.create_index(
        "uq_templates_builtin_key_version",
        "templates",
        ["key", "version"],
        unique=True,
        sqlite_where=BUILTIN,
        postgresql_where=BUILTIN,
    )
    op.create_index(
        "uq_templates_alliance_key_version",
        "templates",
        ["alliance_id", "key", "version"],
        unique=True,
        sqlite_where=OWNED,
        postgresql_where=OWNED,
    )
    op.create_table(
        "template_migrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alliance_id", sa.Integer(), nullable=True),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("source_key", AutoString(length=100), nullable=False),
        sa.Column("source_template_id", sa.Integer(), nullable=True),
        sa.Column("cycle_ids", sa.JSON(), nullable=False),
        sa.Column("stage_map", sa.JSON(), nullable=False),
        sa.Column("unentered", AutoString(length=10), nullable=False),
        sa.Column("status", AutoString(length=20), nullable=False),
        sa.Column("created_by", AutoString(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("previewed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("preview_versions", sa.JSON(), nullable=False),
        sa.Column("applied_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("applied_by", AutoString(length=200), nullable=True),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["alliance_id"], ["alliances.id"]),
        sa.ForeignKeyConstraint(["template_id"], ["templates.id"]),
        sa.ForeignKeyConstraint(["source_template_id"], ["templates.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("template_migrations") as batch_op:
        batch_op.create_index("ix_template_migrations_alliance_id", ["alliance_id"], unique=False)
        batch_op.create_index("ix_template_migrations_template_id", ["template_id"], unique=False)


def downgrade() -> None:
    op.drop_table("template_migrations")
    op.drop_index("uq_templates_alliance_key_version", table_name="templates")
    op.drop_index("uq_templates_builtin_key_version", table_name="templates")
    with op.batch_alter_table("templates") as batch_op:
        batch_op.drop_index("ix_templates_alliance_id")
        batch_op.drop_constraint("fk_templates_alliance_id", type_="foreignkey")
        batch_op.create_unique_constraint("uq_templates_key_version", ["key", "version"])
        batch_op.create_unique_constraint("uq_templates_key_hash", ["key", "content_hash"])
        batch_op.drop_column("published_by")
        batch_op.drop_column("status")
        batch_op.drop_column("alliance_id")
