"""What the engine reads from a database's schema: empty, behind, current or too new, from its own
version table; revisions an earlier release left in `alembic_version` count, a host's never do."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from cycle_engine import CycleEngine, InvalidInput, SchemaTooNew
from cycle_engine.store.db import Database
from cycle_engine.store.schema import (
    LEGACY_VERSION_TABLE,
    VERSION_TABLE,
    ensure_not_newer,
    head_revisions,
    schema_status,
    upgrade,
)

from .old_release import OLD_HEADS, build_old_release

HOST_REVISION = "a1b2c3d4e5f6"


def status(url: str) -> str:
    database = Database(url)
    try:
        return schema_status(database)
    finally:
        database.dispose()


def versions(url: str, table: str) -> list[str] | None:
    """The revisions in version table `table`, None when there is no such table."""
    database = Database(url)
    try:
        with database.engine.connect() as connection:
            if not inspect(connection).has_table(table):
                return None
            rows = connection.execute(text(f"SELECT version_num FROM {table}"))
            return sorted(row[0] for row in rows)
    finally:
        database.dispose()


def add_host_version_table(url: str) -> None:
    """What a host's own Alembic leaves: `alembic_version` holding the host's revision."""
    database = Database(url)
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
            )
        )
        connection.execute(text(f"INSERT INTO alembic_version VALUES ('{HOST_REVISION}')"))
    database.dispose()


def test_database_without_the_engine_is_empty(empty_db_url: str) -> None:
    """No tables at all: 'empty', and the engine refuses to start on it with the way out."""
    assert status(empty_db_url) == "empty"
    with pytest.raises(InvalidInput, match=r"schema is empty; run `cycle-engine init`"):
        CycleEngine(empty_db_url)


def test_database_at_an_older_revision_is_behind(empty_db_url: str) -> None:
    """A database short of the head is 'behind' until upgraded, then 'current'."""
    upgrade(empty_db_url, "0007_one_history")
    assert status(empty_db_url) == "behind"
    with pytest.raises(InvalidInput, match=r"schema is behind"):
        CycleEngine(empty_db_url)
    upgrade(empty_db_url)
    assert status(empty_db_url) == "current"


def test_migrated_database_is_current(db_url: str) -> None:
    """A database at the head is 'current' and records the head in the engine's table."""
    assert status(db_url) == "current"
    assert versions(db_url, VERSION_TABLE) == sorted(head_revisions())


def test_database_newer_than_the_engine_is_refused(db_url: str) -> None:
    """A revision the engine does not know in its version table: refused everywhere, with the
    revision named, and an upgrade leaves it alone."""
    database = Database(db_url)
    with database.engine.begin() as connection:
        connection.execute(text(f"INSERT INTO {VERSION_TABLE} VALUES ('9999_future')"))
    try:
        with pytest.raises(SchemaTooNew, match=r"9999_future.*newer than this engine"):
            schema_status(database)
        with pytest.raises(SchemaTooNew, match=r"9999_future"):
            ensure_not_newer(database)
    finally:
        database.dispose()
    with pytest.raises(SchemaTooNew, match=r"9999_future.*newer than this engine"):
        CycleEngine(db_url)
    with pytest.raises(SchemaTooNew, match=r"9999_future"):
        upgrade(db_url)
    assert "9999_future" in (versions(db_url, VERSION_TABLE) or [])


def test_old_release_database_is_behind_and_its_revisions_move_on_upgrade(
    empty_db_url: str,
) -> None:
    """Revisions an earlier release kept in `alembic_version` read as 'behind'; the upgrade
    moves them to the engine's own table and drops the old one."""
    build_old_release(empty_db_url)
    assert versions(empty_db_url, LEGACY_VERSION_TABLE) == sorted(OLD_HEADS)
    assert status(empty_db_url) == "behind"
    upgrade(empty_db_url)
    assert status(empty_db_url) == "current"
    assert versions(empty_db_url, VERSION_TABLE) == sorted(head_revisions())
    assert versions(empty_db_url, LEGACY_VERSION_TABLE) is None


def test_host_revision_beside_the_engine_is_not_taken_for_a_newer_engine(db_url: str) -> None:
    """A host's own `alembic_version` in the same schema: the engine stays 'current', starts,
    upgrades, and leaves the host's revision where it is."""
    add_host_version_table(db_url)
    assert status(db_url) == "current"
    with CycleEngine(db_url) as engine:
        engine.publish_builtin_templates()
    upgrade(db_url)
    assert versions(db_url, LEGACY_VERSION_TABLE) == [HOST_REVISION]
    assert versions(db_url, VERSION_TABLE) == sorted(head_revisions())


def test_host_revision_alone_means_the_engine_is_not_installed(empty_db_url: str) -> None:
    """Only a host's revision in `alembic_version`: 'empty'; installing the engine keeps the
    host's table and revision as they were."""
    add_host_version_table(empty_db_url)
    assert status(empty_db_url) == "empty"
    upgrade(empty_db_url)
    assert status(empty_db_url) == "current"
    assert versions(empty_db_url, LEGACY_VERSION_TABLE) == [HOST_REVISION]


def test_old_release_database_shared_with_a_host_keeps_the_host_revision(empty_db_url: str) -> None:
    """Engine and host revisions in one `alembic_version`: only the engine's move."""
    build_old_release(empty_db_url)
    database = Database(empty_db_url)
    with database.engine.begin() as connection:
        connection.execute(text(f"INSERT INTO alembic_version VALUES ('{HOST_REVISION}')"))
    database.dispose()
    assert status(empty_db_url) == "behind"
    upgrade(empty_db_url)
    assert status(empty_db_url) == "current"
    assert versions(empty_db_url, LEGACY_VERSION_TABLE) == [HOST_REVISION]
