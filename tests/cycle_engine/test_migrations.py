"""Migrations build exactly the tables the models declare, and newer schemas are refused."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

import cycle_engine.store.tables.all  # noqa: F401
from cycle_engine import CycleEngine, SchemaTooNew
from cycle_engine.store.db import Database


def test_migrated_schema_matches_models(db_url: str) -> None:
    """Upgrading to the heads gives the schema the models describe (no drift)."""
    database = Database(db_url)
    try:
        with database.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": False})
            diff = compare_metadata(context, SQLModel.metadata)
    finally:
        database.dispose()
    assert diff == []


def test_engine_refuses_schema_newer_than_itself(db_url: str) -> None:
    """A database migrated by a newer engine is refused with a clear message."""
    database = Database(db_url)
    with database.engine.begin() as connection:
        connection.execute(text("INSERT INTO alembic_version VALUES ('9999_future')"))
    database.dispose()
    with pytest.raises(SchemaTooNew, match=r"9999_future.*newer than this engine"):
        CycleEngine(db_url)
