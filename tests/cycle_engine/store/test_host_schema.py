"""The engine in a schema of the host's choosing, beside a host with its own Alembic history and
its own `people` table: neither touches the other's tables, revisions or names.

Only PostgreSQL has schemas; on SQLite a schema is refused with a clear error.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

import cycle_engine.store.tables.all  # noqa: F401  (every table on the metadata)
from cycle_engine import Actor, CycleEngine, InvalidInput
from cycle_engine.store.db import Database
from cycle_engine.store.schema import VERSION_TABLE, head_revisions, schema_status, upgrade
from cycle_engine.testing import ManualClock
from tests.cycle_engine.pilot import PILOT

from .host import SCHEMA, query, tables_in

ENGINE_TABLES = {"cycles", "people", "events", "stage_visits", "templates", VERSION_TABLE}


def host_state(url: str) -> tuple[object, ...]:
    return (
        tables_in(url, "public"),
        query(url, "SELECT version_num FROM public.alembic_version"),
        query(url, "SELECT id, name FROM public.people ORDER BY id"),
    )


@pytest.mark.postgres
def test_engine_in_its_schema_runs_a_cycle_beside_the_host(
    host_url: tuple[str, Config],
) -> None:
    """Installed into schema `cycle_engine`, the engine starts and fires a cycle; the host's
    tables, rows and Alembic revision stay exactly as they were, and the host's Alembic sees
    nothing new to migrate."""
    url, config = host_url
    before = host_state(url)
    assert before[0] == {"alembic_version", "people"}

    upgrade(url, schema=SCHEMA)
    with CycleEngine(url, schema=SCHEMA, clock=ManualClock()) as engine:
        assert schema_status(engine.db) == "current"
        engine.templates.publish(PILOT, "pilot.yaml")
        cycle = engine.start_cycle("pilot", "Seed systems", standalone=True)
        assert cycle.id is not None
        coordinator = Actor(name="Lucía", role="coordinator")
        result = engine.fire(cycle.id, "submit", actor=coordinator)
        assert (result.from_state, result.to_state) == ("draft", "review")
        assert [e.kind for e in engine.history(cycle.id)] == ["started", "transition"]

    assert host_state(url) == before
    assert tables_in(url, SCHEMA) >= ENGINE_TABLES
    assert query(url, f"SELECT version_num FROM {SCHEMA}.{VERSION_TABLE}") == [
        (head,) for head in head_revisions()
    ]
    assert query(url, f"SELECT title, state FROM {SCHEMA}.cycles") == [("Seed systems", "review")]
    command.upgrade(config, "head")
    command.check(config)  # the host's autogenerate finds no difference to migrate


@pytest.mark.postgres
def test_foreign_keys_in_the_schema_refer_to_the_schema(host_url: tuple[str, Config]) -> None:
    """Every foreign key of the engine's tables points at the engine's tables, never at the
    host's `people` in public."""
    url, _config = host_url
    upgrade(url, schema=SCHEMA)
    targets = query(
        url,
        "SELECT DISTINCT target.nspname FROM pg_constraint c "
        "JOIN pg_class t ON t.oid = c.confrelid JOIN pg_namespace target "
        "ON target.oid = t.relnamespace JOIN pg_class s ON s.oid = c.conrelid "
        f"JOIN pg_namespace source ON source.oid = s.relnamespace WHERE c.contype = 'f' "
        f"AND source.nspname = '{SCHEMA}'",
    )
    assert targets == [(SCHEMA,)]


@pytest.mark.postgres
def test_tables_in_the_schema_match_the_models(host_url: tuple[str, Config]) -> None:
    """Installed into a schema, the engine's tables are exactly what the models declare."""
    url, _config = host_url
    upgrade(url, schema=SCHEMA)
    database = Database(url, schema=SCHEMA)
    try:
        with database.engine.connect() as connection:  # searches the engine's schema only
            opts = {"compare_type": False, "version_table": VERSION_TABLE}
            diff = compare_metadata(
                MigrationContext.configure(connection, opts=opts), SQLModel.metadata
            )
    finally:
        database.dispose()
    assert diff == []


@pytest.mark.postgres
def test_migration_checks_rows_against_the_schema_not_the_search_path(
    host_url: tuple[str, Config],
) -> None:
    """A timer naming person 1, who exists only in the host's `people`, stops the foreign-key
    migration: its checks read the engine's own tables."""
    url, _config = host_url
    upgrade(url, "0007_one_history", schema=SCHEMA)
    database = Database(url, schema=SCHEMA)
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO timers (kind, rule, occurrence, person_id, due_at, status, late, "
                "created_at, attempts, dedupe_key, payload) VALUES ('digest', 'weekly', 1, 1, "
                "now(), 'pending', false, now(), 0, 'digest:1', '{}')"
            )
        )
    database.dispose()
    with pytest.raises(InvalidInput, match=r"timers\.person_id names people ids .*\(1\)"):
        upgrade(url, schema=SCHEMA)
    assert query(url, f"SELECT version_num FROM {SCHEMA}.{VERSION_TABLE}") == [
        ("0007_one_history",)
    ]


def test_schema_needs_postgresql_and_a_plain_name(tmp_path: Path) -> None:
    """A schema on SQLite, or a name that is not a plain identifier, is refused by name."""
    with pytest.raises(InvalidInput, match=r"schema: a schema for the tables needs PostgreSQL"):
        upgrade(f"sqlite:///{tmp_path / 'cycles.db'}", schema=SCHEMA)
    for bad in ("engine; DROP TABLE people", "9lives", "pg_engine", ""):
        with pytest.raises(InvalidInput, match=r"schema: .* is not a usable schema name"):
            Database("postgresql+psycopg://postgres@127.0.0.1:5432/test", schema=bad)
