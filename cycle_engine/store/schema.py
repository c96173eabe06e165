"""Schema migrations through Alembic, and the guard against databases newer than this engine."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from cycle_engine.errors import SchemaTooNew
from cycle_engine.store.db import Database

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    """An Alembic configuration for `url`, with no alembic.ini needed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    """Bring the schema of the database at `url` up to `revision`."""
    database = Database(url)
    try:
        ensure_not_newer(database)
        with database.engine.begin() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        database.dispose()


def current_revisions(database: Database) -> set[str]:
    with database.engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def head_revisions() -> set[str]:
    """The newest revision of each migration branch this engine ships."""
    return set(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def ensure_not_newer(database: Database) -> None:
    """Raise SchemaTooNew when the database carries a revision this engine does not know."""
    scripts = ScriptDirectory.from_config(alembic_config(database.url))
    known = {script.revision for script in scripts.walk_revisions()}
    unknown = sorted(current_revisions(database) - known)
    if unknown:
        raise SchemaTooNew(
            f"database schema revision {', '.join(unknown)} is newer than this engine "
            f"(knows up to {', '.join(sorted(head_revisions()))}); "
            "upgrade cycle-engine before using this database"
        )


def schema_status(database: Database) -> str:
    """'current', 'empty' or 'behind'; raises SchemaTooNew for a newer schema."""
    ensure_not_newer(database)
    revisions = current_revisions(database)
    if not revisions:
        return "empty"
    return "current" if revisions == head_revisions() else "behind"
