"""shared learning above the cycle: learning agenda, follow-on cycles, adoption and outcomes

New tables only (no existing row changes): agenda questions and their links to the cycles'
questions, each question's answer status per cycle, links between cycles and the products
carried into follow-on cycles, adoption and outcome records, partners' level proposals,
organisations leaving an alliance, adapted versions linked to their prototype and context, and
people following a cycle they have no role in.

Revision ID: 0012_learning_agenda
Revises: 0011_fast_path
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

from cycle_engine.store.tables.types import UTCDateTime

revision = "0012_learning_agenda"
down_revision = "0011_fast_path"
branch_labels = None
depends_on = None

#: Created in this order (each table's foreign keys point at earlier ones); dropped in reverse.
TABLES = (
    "agenda_questions",
    "question_links",
    "question_statuses",
    "cycle_links",
    "cycle_inputs",
    "adoptions",
    "outcomes",
    "outcome_sources",
    "level_proposals",
    "organisation_departures",
    "adapted_versions",
    "cycle_followers",
)


def upgrade() -> None:
    op.create_table(
        "agenda_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alliance_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("raised_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("raised_by", AutoString(length=200), nullable=False),
        sa.Column("raised_by_organisation_id", sa.Integer(), nullable=True),
        sa.Column("raised_in_cycle_id", sa.Integer(), nullable=True),
        sa.Column("raised_in_stage", AutoString(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["alliance_id"],
            ["alliances.id"],
        ),
        sa.ForeignKeyConstraint(
            ["raised_by_organisation_id"],
            ["organisations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["raised_in_cycle_id"],
            ["cycles.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_agenda_questions_alliance_id", "agenda_questions", ["alliance_id"], unique=False
    )
    op.create_index(
        "ix_agenda_questions_raised_in_cycle_id",
        "agenda_questions",
        ["raised_in_cycle_id"],
        unique=False,
    )
    op.create_table(
        "question_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("agenda_question_id", sa.Integer(), nullable=False),
        sa.Column("carried_from_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agenda_question_id"],
            ["agenda_questions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["carried_from_id"],
            ["learning_questions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["learning_questions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("question_id", name="uq_question_link"),
    )
    op.create_index(
        "ix_question_links_agenda_question_id",
        "question_links",
        ["agenda_question_id"],
        unique=False,
    )
    op.create_index(
        "ix_question_links_question_id", "question_links", ["question_id"], unique=False
    )
    op.create_table(
        "question_statuses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("status", AutoString(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["cycles.id"],
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["learning_questions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("question_id", name="uq_question_status"),
    )
    op.create_index(
        "ix_question_statuses_cycle_id", "question_statuses", ["cycle_id"], unique=False
    )
    op.create_index(
        "ix_question_statuses_question_id", "question_statuses", ["question_id"], unique=False
    )
    op.create_table(
        "cycle_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("from_cycle_id", sa.Integer(), nullable=False),
        sa.Column("to_cycle_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["from_cycle_id"],
            ["cycles.id"],
        ),
        sa.ForeignKeyConstraint(
            ["to_cycle_id"],
            ["cycles.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("from_cycle_id", "to_cycle_id", name="uq_cycle_link"),
    )
    op.create_index("ix_cycle_links_from_cycle_id", "cycle_links", ["from_cycle_id"], unique=False)
    op.create_index("ix_cycle_links_to_cycle_id", "cycle_links", ["to_cycle_id"], unique=False)
    op.create_table(
        "cycle_inputs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["cycles.id"],
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cycle_id", "product_id", name="uq_cycle_input"),
    )
    op.create_index("ix_cycle_inputs_cycle_id", "cycle_inputs", ["cycle_id"], unique=False)
    op.create_index("ix_cycle_inputs_product_id", "cycle_inputs", ["product_id"], unique=False)
    op.create_table(
        "adoptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alliance_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("use", AutoString(length=10), nullable=False),
        sa.Column("country", AutoString(length=100), nullable=False),
        sa.Column("place", AutoString(length=200), nullable=False),
        sa.Column("adopted_on", sa.Date(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["alliance_id"],
            ["alliances.id"],
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_adoptions_alliance_id", "adoptions", ["alliance_id"], unique=False)
    op.create_index("ix_adoptions_organisation_id", "adoptions", ["organisation_id"], unique=False)
    op.create_index("ix_adoptions_product_id", "adoptions", ["product_id"], unique=False)
    op.create_table(
        "outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alliance_id", sa.Integer(), nullable=False),
        sa.Column("kind", AutoString(length=30), nullable=False),
        sa.Column("title", AutoString(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("observed_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["alliance_id"],
            ["alliances.id"],
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outcomes_alliance_id", "outcomes", ["alliance_id"], unique=False)
    op.create_table(
        "outcome_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outcome_id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("learning_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["cycles.id"],
        ),
        sa.ForeignKeyConstraint(
            ["learning_id"],
            ["learning_entries.id"],
        ),
        sa.ForeignKeyConstraint(
            ["outcome_id"],
            ["outcomes.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outcome_sources_cycle_id", "outcome_sources", ["cycle_id"], unique=False)
    op.create_index(
        "ix_outcome_sources_outcome_id", "outcome_sources", ["outcome_id"], unique=False
    )
    op.create_table(
        "level_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("stage", AutoString(length=100), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("level", AutoString(length=10), nullable=False),
        sa.Column("status", AutoString(length=10), nullable=False),
        sa.Column("source", AutoString(length=20), nullable=False),
        sa.Column("proposed_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("proposed_by", AutoString(length=200), nullable=False),
        sa.Column("decided_level", AutoString(length=10), nullable=True),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", AutoString(length=200), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["cycles.id"],
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_level_proposals_cycle_id", "level_proposals", ["cycle_id"], unique=False)
    op.create_index(
        "ix_level_proposals_organisation_id", "level_proposals", ["organisation_id"], unique=False
    )
    op.create_table(
        "organisation_departures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alliance_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("left_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["alliance_id"],
            ["alliances.id"],
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alliance_id", "organisation_id", name="uq_organisation_departure"),
    )
    op.create_index(
        "ix_organisation_departures_alliance_id",
        "organisation_departures",
        ["alliance_id"],
        unique=False,
    )
    op.create_index(
        "ix_organisation_departures_organisation_id",
        "organisation_departures",
        ["organisation_id"],
        unique=False,
    )
    op.create_table(
        "adapted_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("prototype_id", sa.Integer(), nullable=False),
        sa.Column("context_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["context_id"],
            ["test_contexts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
        ),
        sa.ForeignKeyConstraint(
            ["prototype_id"],
            ["products.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("product_id", name="uq_adapted_version"),
    )
    op.create_index(
        "ix_adapted_versions_context_id", "adapted_versions", ["context_id"], unique=False
    )
    op.create_index(
        "ix_adapted_versions_product_id", "adapted_versions", ["product_id"], unique=False
    )
    op.create_index(
        "ix_adapted_versions_prototype_id", "adapted_versions", ["prototype_id"], unique=False
    )
    op.create_table(
        "cycle_followers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("followed_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("followed_by", AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["cycles.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cycle_id", "person_id", name="uq_cycle_follower"),
    )
    op.create_index("ix_cycle_followers_cycle_id", "cycle_followers", ["cycle_id"], unique=False)
    op.create_index("ix_cycle_followers_person_id", "cycle_followers", ["person_id"], unique=False)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
