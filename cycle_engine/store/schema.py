"""Schema migrations: one linear Alembic history, recorded in the engine's own version table.

The engine records its revisions in `cycle_engine_alembic_version`, not in Alembic's default
`alembic_version`, so it shares a database with a host that runs Alembic too; on PostgreSQL its
tables and that version table may live in a schema of the host's choosing. Earlier releases kept
the engine's revisions in `alembic_version`: `upgrade` carries them over, and until then the
status reads only the engine's own revisions there, so a host's revision never passes for a newer
engine's. On SQLite, batch migrations rebuild tables, so foreign keys are off while they run and
checked before the commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Column,
    Connection,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    column,
    delete,
    func,
    insert,
    inspect,
    select,
    table,
    update,
)
from sqlalchemy.schema import CreateSchema, DropTable

from cycle_engine.errors import InvalidInput, SchemaTooNew
from cycle_engine.store.db import Database

MIGRATIONS = Path(__file__).with_name("migrations")
#: Where the engine records its revisions (in its schema, when it has one).
VERSION_TABLE = "cycle_engine_alembic_version"
#: Where earlier releases recorded them, and where a host's Alembic records its own.
LEGACY_VERSION_TABLE = "alembic_version"
SchemaStatus = Literal["empty", "behind", "current"]


def migration_options(schema: str | None) -> dict[str, Any]:
    """How Alembic runs the engine's history: its own version table, in `schema`, batch mode."""
    return {"version_table": VERSION_TABLE, "version_table_schema": schema, "render_as_batch": True}


def alembic_config(url: str, *, schema: str | None = None) -> Config:
    """An Alembic configuration for `url` (tables in `schema`), with no alembic.ini needed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["schema"] = schema
    return config


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def known_revisions() -> frozenset[str]:
    """Every revision this engine ships."""
    return frozenset(script.revision for script in _scripts().walk_revisions())


def head_revisions() -> set[str]:
    """The newest revision this engine ships (one: the history is linear)."""
    return set(_scripts().get_heads())


def upgrade(url: str, revision: str = "heads", *, schema: str | None = None) -> None:
    """Bring the engine's tables at `url` up to `revision`, in one transaction.

    On PostgreSQL, concurrent upgrades of one schema wait for each other, and `schema` (the
    tables' and the version table's home) is created when missing. Revisions an earlier release
    recorded in `alembic_version` are carried over to the engine's version table first.

    Raises:
        SchemaTooNew: the database carries a revision this engine does not know.
        InvalidInput: `schema` is unusable here, or existing rows refer to rows that do not
            exist, so a foreign key cannot be added (the error names the table and ids).
    """
    database = Database(url, schema=schema)
    try:
        with (
            database.engine.connect() as connection,
            _sqlite_foreign_keys_off(connection),
            connection.begin(),
        ):
            if database.is_postgresql:
                _prepare_postgresql(connection, schema)
            carry_over_legacy_versions(connection, schema)
            _refuse_newer(_current(connection, schema))
            config = alembic_config(url, schema=schema)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            if database.is_sqlite:
                _check_sqlite_foreign_keys(connection)
    finally:
        database.dispose()


def carry_over_legacy_versions(connection: Connection, schema: str | None) -> list[str]:
    """Move the engine's revisions from `alembic_version` to the engine's version table.

    Only revisions this engine knows move; a host's stay where they are. The old table is
    dropped once empty (it held the engine's revisions alone). Returns the revisions moved.
    """
    if _version_rows(connection, VERSION_TABLE, schema) is not None:
        return []
    legacy = _version_rows(connection, LEGACY_VERSION_TABLE, schema) or []
    ours = sorted(set(legacy) & known_revisions())
    if not ours:
        return []
    carried = _version_table(schema)
    carried.create(connection)
    connection.execute(insert(carried), [{"version_num": revision} for revision in ours])
    versions = table(LEGACY_VERSION_TABLE, column("version_num"), schema=schema)
    connection.execute(delete(versions).where(versions.c.version_num.in_(ours)))
    if len(ours) == len(legacy):
        connection.execute(DropTable(Table(LEGACY_VERSION_TABLE, MetaData(), schema=schema)))
    return ours


def _version_table(schema: str | None) -> Table:
    """The engine's version table, as Alembic itself defines one."""
    return Table(
        VERSION_TABLE,
        MetaData(),
        Column("version_num", String(32), nullable=False),
        PrimaryKeyConstraint("version_num", name=f"{VERSION_TABLE}_pkc"),
        schema=schema,
    )


def current_revisions(database: Database) -> set[str]:
    """The engine's revisions the database carries (none when the engine is not installed)."""
    with database.read_session() as session:
        return _current(session.connection(), database.schema)


def ensure_not_newer(database: Database) -> None:
    """Raise SchemaTooNew when the database carries a revision this engine does not know."""
    _refuse_newer(current_revisions(database))


def schema_status(database: Database) -> SchemaStatus:
    """'empty', 'behind' or 'current'; raises SchemaTooNew for a newer schema."""
    revisions = current_revisions(database)
    _refuse_newer(revisions)
    if not revisions:
        return "empty"
    return "current" if revisions == head_revisions() else "behind"


def _current(connection: Connection, schema: str | None) -> set[str]:
    ours = _version_rows(connection, VERSION_TABLE, schema)
    if ours is not None:
        return set(ours)
    legacy = _version_rows(connection, LEGACY_VERSION_TABLE, schema) or []
    return set(legacy) & known_revisions()


def _version_rows(connection: Connection, name: str, schema: str | None) -> list[str] | None:
    """The revisions in version table `name`, or None when there is no such table."""
    if not inspect(connection).has_table(name, schema=schema):
        return None
    versions = table(name, column("version_num"), schema=schema)
    return [str(value) for value in connection.execute(select(versions.c.version_num)).scalars()]


def _refuse_newer(revisions: set[str]) -> None:
    unknown = sorted(revisions - known_revisions())
    if unknown:
        raise SchemaTooNew(
            f"database schema revision {', '.join(unknown)} is newer than this engine "
            f"(knows up to {', '.join(sorted(head_revisions()))}); "
            "upgrade cycle-engine before using this database"
        )


def _prepare_postgresql(connection: Connection, schema: str | None) -> None:
    """Wait for any other upgrade of the same schema, then create the schema when missing."""
    lock = func.hashtext(f"cycle_engine.upgrade:{schema or ''}")
    connection.execute(select(func.pg_advisory_xact_lock(lock)))
    if schema is not None:
        connection.execute(CreateSchema(schema, if_not_exists=True))


@contextmanager
def _sqlite_foreign_keys_off(connection: Connection) -> Iterator[None]:
    """SQLite: foreign keys off for the migration (batch mode drops and renames tables)."""
    if connection.dialect.name != "sqlite":
        yield
        return
    driver: Any = connection.connection.driver_connection  # outside any transaction
    driver.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        driver.execute("PRAGMA foreign_keys=ON")


def _check_sqlite_foreign_keys(connection: Connection) -> None:
    problems = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if problems:
        pairs = sorted({f"{row[0]} -> {row[2]}" for row in problems})
        raise InvalidInput(
            "database",
            f"{len(problems)} rows refer to rows that do not exist ({', '.join(pairs)}); "
            "the upgrade was rolled back",
        )


def check_writable(database: Database) -> None:
    """Commit a write that changes nothing, so a read-only or full database, or one that stopped
    accepting connections, shows here rather than in a user's command; raises the driver error."""
    versions = _version_table(database.schema)
    with database.transaction() as session:
        session.connection().execute(update(versions).values(version_num=versions.c.version_num))
