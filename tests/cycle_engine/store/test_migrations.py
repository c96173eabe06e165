"""One schema history: a single head, tables exactly as the models declare them, foreign keys
between every area, and databases of the release with five heads upgraded in place, row for row."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

import cycle_engine.store.tables.all  # noqa: F401  (every table on the metadata)
from cycle_engine import CycleEngine, InvalidInput
from cycle_engine.store.db import Database
from cycle_engine.store.schema import (
    LEGACY_VERSION_TABLE,
    VERSION_TABLE,
    alembic_config,
    current_revisions,
    head_revisions,
    migration_options,
    schema_status,
    upgrade,
)

from .old_release import (
    COORDINATOR,
    OLD_HEADS,
    build_old_release,
    column_names,
    fill_like_the_demo,
    row_counts,
    table_rows,
)

#: Columns named like ids that are not references to another table's row.
NOT_REFERENCES = {("outbox", "message_id"), ("dashboard_signin_uses", "token_id")}


def test_history_has_one_head_and_is_linear_after_the_merge() -> None:
    """The five branches meet in one merge revision; every later revision has one parent."""
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert scripts.get_heads() == ["0017_timer_queue"] == sorted(head_revisions())
    merge = scripts.get_revision("0007_one_history")
    assert merge is not None
    assert sorted(merge.down_revision or ()) == sorted(OLD_HEADS)
    later = list(scripts.iterate_revisions("heads", "0007_one_history"))  # merge excluded
    assert later, "no revision after the merge"
    assert all(isinstance(script.down_revision, str) for script in later)


def test_every_id_column_is_a_foreign_key() -> None:
    """A column holding another row's id says so in the schema (nothing left unchecked)."""
    unchecked = sorted(
        (table.name, column.name)
        for table in SQLModel.metadata.tables.values()
        for column in table.columns
        if column.name.endswith("_id") and not column.foreign_keys
    )
    assert set(unchecked) == NOT_REFERENCES


def test_migrated_schema_matches_models(db_url: str) -> None:
    """Upgrading to the head gives the schema the models describe (no drift)."""
    database = Database(db_url)
    try:
        with database.engine.connect() as connection:
            opts = {"compare_type": False, **migration_options(None)}
            context = MigrationContext.configure(connection, opts=opts)
            diff = compare_metadata(context, SQLModel.metadata)
            tables = set(inspect(connection).get_table_names())
    finally:
        database.dispose()
    assert diff == []
    assert VERSION_TABLE in tables
    assert LEGACY_VERSION_TABLE not in tables


def test_old_release_database_upgrades_in_place_without_losing_a_row(
    empty_db_url: str, tmp_path: Path
) -> None:
    """A database at the old five heads, filled like the demo, reaches the head with every row
    unchanged, its revisions moved to the engine's version table, and keeps working."""
    build_old_release(empty_db_url)
    cycle_id = fill_like_the_demo(empty_db_url, tmp_path / "files")
    old_columns = column_names(empty_db_url)
    before = table_rows(empty_db_url)
    empty = sorted(name for name, rows in before.items() if not rows)
    assert empty == [], f"the fill left tables empty: {empty}"
    counts = row_counts(empty_db_url)

    upgrade(empty_db_url)

    assert {name: n for name, n in row_counts(empty_db_url).items() if name in counts} == counts
    assert table_rows(empty_db_url, old_columns) == before
    with CycleEngine(empty_db_url) as engine:
        assert schema_status(engine.db) == "current"
        with engine.db.engine.connect() as connection:
            assert not inspect(connection).has_table(LEGACY_VERSION_TABLE)
        note = "The tool assumes literacy many members lack"
        result = engine.fire(cycle_id, "results_weak", actor=COORDINATOR, note=note)
        assert (result.from_state, result.to_state) == ("multi_context_testing", "prototype")


def test_rows_naming_missing_rows_stop_the_upgrade_and_change_nothing(
    empty_db_url: str,
) -> None:
    """A row that names a person who does not exist stops the upgrade with an error naming the
    table, the column and the id; the database stays as it was (old version table included)."""
    build_old_release(empty_db_url)
    database = Database(empty_db_url)
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO notification_preferences (person_id, mode, digest_hour, "
                "unsubscribed, updated_at) VALUES (77, 'digest', 8, '[]', '2026-01-05 09:00:00')"
            )
        )
    database.dispose()

    with pytest.raises(InvalidInput, match=r"notification_preferences\.person_id.*\(77\)"):
        upgrade(empty_db_url)

    database = Database(empty_db_url)
    try:
        assert schema_status(database) == "behind"
        assert current_revisions(database) == set(OLD_HEADS)
        with database.engine.connect() as connection:
            assert inspect(connection).has_table(LEGACY_VERSION_TABLE)
            assert not inspect(connection).has_table(VERSION_TABLE)
    finally:
        database.dispose()
    assert row_counts(empty_db_url)["notification_preferences"] == 1
