"""A host application beside the engine: its own Alembic history (default `alembic_version`)
creating its own `people` table in `public`, with two rows; and plain queries to inspect both."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

from alembic.config import Config
from sqlalchemy import create_engine, text

SCHEMA = "cycle_engine"  # the schema the host chose for the engine
HOST_REVISION = "h0001_people"
HOST_ENV = """
from alembic import context
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine

metadata = MetaData()
Table("people", metadata, Column("id", Integer, primary_key=True),
      Column("name", String(100), nullable=False))

engine = create_engine(context.config.get_main_option("sqlalchemy.url"))
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
"""
HOST_REVISION_SCRIPT = f'''
"""the host's people"""
import sqlalchemy as sa
from alembic import op

revision = "{HOST_REVISION}"
down_revision = None


def upgrade():
    people = op.create_table(
        "people",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
    )
    op.bulk_insert(people, [{{"id": 1, "name": "Host user"}}, {{"id": 2, "name": "Other"}}])


def downgrade():
    op.drop_table("people")
'''


def host_config(url: str, directory: Path) -> Config:
    """A host application's own Alembic setup: default version table, tables in `public`."""
    (directory / "versions").mkdir(parents=True)
    (directory / "env.py").write_text(dedent(HOST_ENV))
    (directory / "script.py.mako").write_text("")
    (directory / "versions" / f"{HOST_REVISION}.py").write_text(dedent(HOST_REVISION_SCRIPT))
    config = Config()
    config.set_main_option("script_location", str(directory))
    config.set_main_option("sqlalchemy.url", url)
    return config


def query(url: str, sql: str) -> list[tuple[object, ...]]:
    """The rows `sql` returns, through a plain connection (no schema, default search path)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


def tables_in(url: str, schema: str) -> set[str]:
    """Names of the tables in `schema`."""
    rows = query(url, f"SELECT tablename FROM pg_tables WHERE schemaname = '{schema}'")
    return {str(row[0]) for row in rows}
