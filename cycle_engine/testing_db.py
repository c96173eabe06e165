"""Fresh, migrated databases for tests: SQLite files and PostgreSQL databases cloned from a
migrated template, so each test starts clean in milliseconds; or empty ones, for tests of the
migrations themselves. Shipped so embedders can use it.

On PostgreSQL a clone and a drop each take a few hundred milliseconds of the server's disk
time. With `ahead` set, a background thread keeps that many clones ready and drops used
databases after the test, so a test neither waits for its database nor for the previous one's
removal; a clone or drop that failed there is raised by the next `new` or by `close`.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
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
    """Creates one database per test from a migrated template database on the server at `url`.

    `ahead`: how many migrated clones a background thread keeps ready (0: each `new` clones
    and each `drop` drops while the caller waits, as benchmarks want). `prefix` starts every
    database name (by default one per process, so parallel test workers never meet)."""

    def __init__(self, url: str, *, ahead: int = 0, prefix: str | None = None) -> None:
        self._admin_url = url
        self._prefix = prefix or f"ce_test_{os.getpid()}"
        self._template = f"{self._prefix}_template"
        self._admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with self._admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self._template}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{self._template}"'))
        upgrade(self._url_for(self._template))
        self._created: list[str] = []
        self._ahead = ahead
        self._background = ThreadPoolExecutor(1, "clones") if ahead else None
        self._ready: deque[Future[str]] = deque()
        self._dropping: list[Future[None]] = []
        self._prepare()

    def _url_for(self, database: str) -> str:
        return (
            make_url(self._admin_url).set(database=database).render_as_string(hide_password=False)
        )

    def _clone(self, template: str) -> str:
        name = f"{self._prefix}_{next(_counter)}"
        self._created.append(name)
        with self._admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        return name

    def _drop(self, name: str) -> None:
        with self._admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def _prepare(self) -> None:
        """Queue clones of the template until `ahead` are ready or on their way."""
        while self._background is not None and len(self._ready) < self._ahead:
            self._ready.append(self._background.submit(self._clone, self._template))

    def _raise_failed_drops(self) -> None:
        done = [future for future in self._dropping if future.done()]
        self._dropping = [future for future in self._dropping if not future.done()]
        for future in done:
            future.result()

    def new(self, *, empty: bool = False) -> str:
        """A new database: a copy of the migrated template, or one with no tables (`empty`)."""
        self._raise_failed_drops()
        if empty or not self._ready:
            name = self._clone("template0" if empty else self._template)
        else:
            name = self._ready.popleft().result()
            self._prepare()
        return self._url_for(name)

    def drop(self, url: str) -> None:
        """Drop a database `new` made (in the background when clones are kept ready)."""
        name = make_url(url).database
        assert name is not None
        if name in self._created:
            self._created.remove(name)
        if self._background is None:
            self._drop(name)
        else:
            self._dropping.append(self._background.submit(self._drop, name))

    def close(self) -> None:
        """Wait for the background work, then drop every database made here and the template."""
        if self._background is not None:
            self._background.shutdown(wait=True)
        pending: list[Future[str] | Future[None]] = [*self._ready, *self._dropping]
        failures = [error for future in pending if (error := future.exception()) is not None]
        with self._admin.connect() as conn:
            for name in [*self._created, self._template]:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._admin.dispose()
        if failures:
            raise failures[0]
