"""template drafts edited in the dashboard

Two new tables: `template_drafts` (a template being edited, of an alliance or, for an
administrator, a built-in one; its text, revision and who made it) and `template_draft_changes`
(who saved which revision of a draft, when, and what changed). Nothing existing changes.

Revision ID: 0014_template_drafts
Revises: 0013_http_resources
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

from cycle_engine.store.tables.types import UTCDateTime

revision = "0014_template_drafts"
down_revision = "0013_http_resources"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "template_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alliance_id", sa.Integer(), nullable=True),
        sa.Column("key", AutoString(length=100), nullable=False),
        sa.Column("title", AutoString(length=200), nullable=False),
        sa.Column("source_text", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("based_on_id", sa.Integer(), nullable=True),
        sa.Column("created_by", AutoString(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", AutoString(length=200), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["alliance_id"], ["alliances.id"]),
        sa.ForeignKeyConstraint(["based_on_id"], ["templates.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("template_drafts") as batch_op:
        batch_op.create_index("ix_template_drafts_alliance_id", ["alliance_id"], unique=False)
    op.create_table(
        "template_draft_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("changed_by", AutoString(length=200), nullable=False),
        sa.Column("changed_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["draft_id"], ["template_drafts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("template_draft_changes") as batch_op:
        batch_op.create_index("ix_template_draft_changes_draft_id", ["draft_id"], unique=False)


def downgrade() -> None:
    op.drop_table("template_draft_changes")
    op.drop_table("template_drafts")
