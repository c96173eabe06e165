"""alliance domain: alliances, organisations, people, participation, work plan, products,
testing contexts, learning questions and the learning log; cycles get alliance_id and topic.

Revision ID: 0002_alliance
Revises: 0001_core
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

from cycle_engine.store.tables.types import UTCDateTime

revision = "0002_alliance"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alliances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", AutoString(length=200), nullable=False),
        sa.Column("theme", AutoString(length=300), nullable=False),
        sa.Column("timezone", AutoString(length=64), nullable=False),
        sa.Column("language", AutoString(length=5), nullable=False),
        sa.Column("working_hours_start", sa.Integer(), nullable=False),
        sa.Column("working_hours_end", sa.Integer(), nullable=False),
        sa.Column("weekend_days", AutoString(length=20), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", AutoString(length=200), nullable=False),
        sa.Column("kind", AutoString(length=20), nullable=False),
        sa.Column("country", AutoString(length=100), nullable=False),
        sa.Column("timezone", AutoString(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "alliance_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alliance_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("works_with_id", sa.Integer(), nullable=True),
        sa.Column("joined_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alliance_id"],
            ["alliances.id"],
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["works_with_id"],
            ["organisations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alliance_id", "organisation_id", name="uq_alliance_member"),
    )
    with op.batch_alter_table("alliance_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alliance_members_alliance_id"), ["alliance_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_alliance_members_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", AutoString(length=200), nullable=False),
        sa.Column("email", AutoString(length=254), nullable=False),
        sa.Column("language", AutoString(length=5), nullable=False),
        sa.Column("timezone", AutoString(length=64), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("joined_on", sa.Date(), nullable=False),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_people_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "alliance_roles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alliance_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("role", AutoString(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["alliance_id"],
            ["alliances.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alliance_id", "person_id", "role", name="uq_alliance_role"),
    )
    with op.batch_alter_table("alliance_roles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alliance_roles_alliance_id"), ["alliance_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_alliance_roles_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "learning_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("stage", AutoString(length=100), nullable=False),
        sa.Column("kind", AutoString(length=40), nullable=False),
        sa.Column("title", AutoString(length=300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["cycles.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("learning_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_learning_entries_cycle_id"), ["cycle_id"], unique=False
        )

    op.create_table(
        "learning_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_by", AutoString(length=200), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["cycles.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("learning_questions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_learning_questions_cycle_id"), ["cycle_id"], unique=False
        )

    op.create_table(
        "participation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("stage", AutoString(length=100), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("level", AutoString(length=10), nullable=False),
        sa.Column("focal_point_id", sa.Integer(), nullable=True),
        sa.Column("deputy_id", sa.Integer(), nullable=True),
        sa.Column("needs_focal_point", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["cycles.id"],
        ),
        sa.ForeignKeyConstraint(
            ["deputy_id"],
            ["people.id"],
        ),
        sa.ForeignKeyConstraint(
            ["focal_point_id"],
            ["people.id"],
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cycle_id", "stage", "organisation_id", name="uq_participation"),
    )
    with op.batch_alter_table("participation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_participation_cycle_id"), ["cycle_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_participation_focal_point_id"), ["focal_point_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_participation_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("stage", AutoString(length=100), nullable=False),
        sa.Column("kind", AutoString(length=40), nullable=False),
        sa.Column("form", AutoString(length=20), nullable=True),
        sa.Column("title", AutoString(length=300), nullable=False),
        sa.Column("link", AutoString(length=1000), nullable=True),
        sa.Column("file_path", AutoString(length=500), nullable=True),
        sa.Column("file_name", AutoString(length=255), nullable=True),
        sa.Column("content_type", AutoString(length=100), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=True),
        sa.Column("sha256", AutoString(length=64), nullable=True),
        sa.Column("author_organisation_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_organisation_id"],
            ["organisations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["cycles.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_products_author_organisation_id"),
            ["author_organisation_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_products_cycle_id"), ["cycle_id"], unique=False)

    op.create_table(
        "test_contexts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("name", AutoString(length=200), nullable=False),
        sa.Column("country", AutoString(length=100), nullable=False),
        sa.Column("community", AutoString(length=200), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("status", AutoString(length=20), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["cycles.id"],
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cycle_id", "name", name="uq_test_context_name"),
    )
    with op.batch_alter_table("test_contexts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_test_contexts_cycle_id"), ["cycle_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_test_contexts_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "work_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("stage", AutoString(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("planned_start", UTCDateTime(timezone=True), nullable=False),
        sa.Column("planned_due", UTCDateTime(timezone=True), nullable=False),
        sa.Column("original_due", UTCDateTime(timezone=True), nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["cycles.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cycle_id", "stage", name="uq_work_plan_stage"),
    )
    with op.batch_alter_table("work_plan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_plan_cycle_id"), ["cycle_id"], unique=False)

    op.create_table(
        "context_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("context_id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("stage", AutoString(length=100), nullable=False),
        sa.Column("visit", sa.Integer(), nullable=False),
        sa.Column("rating", AutoString(length=10), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("reported_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("reported_by", AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["context_id"],
            ["test_contexts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["cycles.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("context_results", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_context_results_context_id"), ["context_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_context_results_cycle_id"), ["cycle_id"], unique=False)

    op.create_table(
        "learning_organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("learning_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["learning_id"],
            ["learning_entries.id"],
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("learning_id", "organisation_id", name="uq_learning_organisation"),
    )
    with op.batch_alter_table("learning_organisations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_learning_organisations_learning_id"), ["learning_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_learning_organisations_organisation_id"),
            ["organisation_id"],
            unique=False,
        )

    with op.batch_alter_table("cycles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alliance_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("topic", AutoString(length=200), nullable=True))
        batch_op.create_index(batch_op.f("ix_cycles_alliance_id"), ["alliance_id"], unique=False)
        batch_op.create_foreign_key("fk_cycles_alliance_id", "alliances", ["alliance_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("cycles", schema=None) as batch_op:
        batch_op.drop_constraint("fk_cycles_alliance_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_cycles_alliance_id"))
        batch_op.drop_column("topic")
        batch_op.drop_column("alliance_id")

    with op.batch_alter_table("learning_organisations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_learning_organisations_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_learning_organisations_learning_id"))

    op.drop_table("learning_organisations")
    with op.batch_alter_table("context_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_context_results_cycle_id"))
        batch_op.drop_index(batch_op.f("ix_context_results_context_id"))

    op.drop_table("context_results")
    with op.batch_alter_table("work_plan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_plan_cycle_id"))

    op.drop_table("work_plan")
    with op.batch_alter_table("test_contexts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_test_contexts_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_test_contexts_cycle_id"))

    op.drop_table("test_contexts")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_products_cycle_id"))
        batch_op.drop_index(batch_op.f("ix_products_author_organisation_id"))

    op.drop_table("products")
    with op.batch_alter_table("participation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participation_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_participation_focal_point_id"))
        batch_op.drop_index(batch_op.f("ix_participation_cycle_id"))

    op.drop_table("participation")
    with op.batch_alter_table("learning_questions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_learning_questions_cycle_id"))

    op.drop_table("learning_questions")
    with op.batch_alter_table("learning_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_learning_entries_cycle_id"))

    op.drop_table("learning_entries")
    with op.batch_alter_table("alliance_roles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alliance_roles_person_id"))
        batch_op.drop_index(batch_op.f("ix_alliance_roles_alliance_id"))

    op.drop_table("alliance_roles")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_people_organisation_id"))

    op.drop_table("people")
    with op.batch_alter_table("alliance_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alliance_members_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_alliance_members_alliance_id"))

    op.drop_table("alliance_members")
    op.drop_table("organisations")
    op.drop_table("alliances")
