"""Alembic environment: runs the engine's history on the connection `upgrade` hands over.

The version table is the engine's own (`cycle_engine_alembic_version`), in the engine's schema
when it has one; `cycle_engine.store.schema.upgrade` opens the transaction and passes both.
"""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import cycle_engine.store.tables.all  # noqa: F401  (registers every table on the metadata)
from cycle_engine.store.schema import migration_options

config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "the engine's migrations run through cycle_engine.store.schema.upgrade() or "
            "`cycle-engine migrate`, which open the connection and the transaction"
        )
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        **migration_options(config.attributes.get("schema")),
    )
    with context.begin_transaction():
        context.run_migrations()


run()
