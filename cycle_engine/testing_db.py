"""Fresh, migrated databases for tests: SQLite files and PostgreSQL databases cloned from a
migrated template, so each test starts clean in milliseconds; or empty ones, for tests of the
migrations themselves. Shipped so embedders can use it."""

from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cycle_engine.store.schema import upgrade

_counter = itertools.count()


class SqliteFactory:
    """Copies one migrated SQLite file per test."""

    def __init__(self, workdir: Path) -> None:
        self._workdir = workdir
        self._template = workdir / "template.db"
        upgrade(f"sqlite:///{self._template}")

    def new(self, directory: Path, *, empty: bool = False) -> str:
        """A database file in `directory`: migrated, or with no tables at all (`empty`)."""
        target = directory / "cycles.db"
        if not empty:
            shutil.copyfile(self._template, target)
        return f"sqlite:///{target}"


class PostgresFactory:
    """Creates one database per test from a migrated template database on the server at `url`."""

    def __init__(self, url: str) -> None:
        self._admin_url = url
        self._prefix = f"ce_test_{os.getpid()}"
        self._template = f"{self._prefix}_template"
        self._admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with self._admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self._template}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{self._template}"'))
        upgrade(self._url_for(self._template))
        self._created: list[str] = []

    def _url_for(self, database: str) -> str:
        return (
            make_url(self._admin_url).set(database=database).render_as_string(hide_password=False)
        )

    def new(self, *, empty: bool = False) -> str:
        """A new database: a copy of the migrated template, or one with no tables (`empty`)."""
        name = f"{self._prefix}_{next(_counter)}"
        template = "template0" if empty else self._template
        with self._admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        self._created.append(name)
        return self._url_for(name)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        with self._admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        with self._admin.connect() as conn:
            for name in [*self._created, self._template]:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._admin.dispose()
