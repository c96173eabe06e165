"""foreign keys the branches could not declare: each person, alliance, organisation, cycle,
stage visit, event and API key a row names must exist

Existing rows are checked first: a row naming a missing one stops the upgrade with an error that
names the table, the column and the ids (nothing is changed or deleted). SQLite rebuilds each
table (batch mode); PostgreSQL adds the constraints in place.

Revision ID: 0008_foreign_keys
Revises: 0007_one_history
"""

from __future__ import annotations

from itertools import groupby

import sqlalchemy as sa
from alembic import op

from cycle_engine.errors import InvalidInput

revision = "0008_foreign_keys"
down_revision = "0007_one_history"
branch_labels = None
depends_on = None

#: (table, column, referred table): the column holds an id of the referred table.
FOREIGN_KEYS = [
    ("api_idempotency", "api_key_id", "api_keys"),
    ("api_keys", "alliance_id", "alliances"),
    ("api_keys", "organisation_id", "organisations"),
    ("cycles", "current_stage_id", "stage_visits"),
    ("dashboard_sessions", "person_id", "people"),
    ("dashboard_signin_uses", "person_id", "people"),
    ("email_action_uses", "cycle_id", "cycles"),
    ("email_action_uses", "event_id", "events"),
    ("email_action_uses", "person_id", "people"),
    ("email_action_uses", "stage_visit_id", "stage_visits"),
    ("idempotency_keys", "cycle_id", "cycles"),
    ("idempotency_keys", "event_id", "events"),
    ("notification_preferences", "person_id", "people"),
    ("outbox", "cycle_id", "cycles"),
    ("outbox", "digest_id", "outbox"),
    ("outbox", "person_id", "people"),
    ("timers", "person_id", "people"),
    ("webhook_subscriptions", "alliance_id", "alliances"),
]


def constraint_name(table: str, column: str) -> str:
    return f"fk_{table}_{column}"


def refuse_missing_references(table: str, column: str, referred: str) -> None:
    """Stop with InvalidInput when rows of `table` name ids `referred` does not have."""
    rows = sa.table(table, sa.column(column))
    parents = sa.table(referred, sa.column("id")).alias("parent")
    value = rows.c[column]
    missing = (
        sa.select(value)
        .where(value.is_not(None), ~sa.exists().where(parents.c.id == value))
        .distinct()
        .order_by(value)
        .limit(6)
    )
    ids = [str(found) for found in op.get_bind().execute(missing).scalars()]
    if ids:
        shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
        raise InvalidInput(
            "database",
            f"{table}.{column} names {referred} ids that do not exist ({shown}), so the foreign "
            f"key {constraint_name(table, column)} cannot be added; correct or remove those "
            f"{table} rows, then upgrade again (nothing was changed)",
        )


def upgrade() -> None:
    for table, column, referred in FOREIGN_KEYS:
        refuse_missing_references(table, column, referred)
    for table, keys in groupby(FOREIGN_KEYS, key=lambda key: key[0]):
        with op.batch_alter_table(table) as batch_op:
            for _, column, referred in keys:
                batch_op.create_foreign_key(
                    constraint_name(table, column), referred, [column], ["id"]
                )


def downgrade() -> None:
    for table, keys in groupby(FOREIGN_KEYS, key=lambda key: key[0]):
        with op.batch_alter_table(table) as batch_op:
            for _, column, _referred in keys:
                batch_op.drop_constraint(constraint_name(table, column), type_="foreignkey")
