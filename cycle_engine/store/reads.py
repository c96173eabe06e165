"""`Readers`: a few threads, each holding one read session open, for the hottest read
(`GET /api/v1/cycles/{id}`) off the event loop.

`Database.read_session()` builds an ORM session, checks a connection out of the pool, begins,
commits and hands the connection back: about 0.15 ms around a read SQLite answers in 0.02 ms,
and the general thread pool's hop costs about as much again. Each reader thread instead keeps
one `read_session()` open for its whole life, and each read is one transaction of the driver's
own: BEGIN (SQLite; PostgreSQL begins by itself) before it, ROLLBACK after it. So between reads
nothing is held (no snapshot keeps SQLite's WAL from checkpointing, no transaction stays idle on
PostgreSQL), every read sees what was committed before it began, nothing a read might write is
kept, and the session's objects are let go after each read (its identity map emptied). A driver
error leaves as SQLAlchemy's (`DBAPIError`, so the API answers 503 when the database is down)
and costs the thread its session and connection, opened afresh by its next read.

The threads hold one pooled connection each, beside the request threads' (`Settings`
`request_threads`): the pool must have room for both.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any, TypeVar

from sqlalchemy import exc
from sqlmodel import Session

from cycle_engine.store.db import Database

T = TypeVar("T")
#: Reads run at once: enough to overlap one read's wait for PostgreSQL with another's work.
READ_THREADS = 2


class _Held:
    """One thread's open read session and its driver connection."""

    def __init__(self, db: Database) -> None:
        self.stack = ExitStack()
        with self.stack as stack:  # closed again only if opening fails
            self.session = stack.enter_context(db.read_session())
            connection = self.session.connection()  # SQLite: SQLAlchemy's BEGIN, ended below
            self.dialect = connection.dialect
            driver: Any = connection.connection.driver_connection
            self.driver = driver
            self.sqlite = self.dialect.name == "sqlite"
            self._driver("ROLLBACK", self.driver.rollback)
            self.stack = stack.pop_all()

    def _driver(self, statement: str, call: Callable[[], object]) -> None:
        """Run a driver call; its error leaves as SQLAlchemy's."""
        error_type = self.dialect.loaded_dbapi.Error
        try:
            call()
        except error_type as error:
            raise exc.DBAPIError.instance(
                statement, None, error, error_type, dialect=self.dialect
            ) from error

    def run(self, read: Callable[[Session], T]) -> T:
        if self.sqlite:
            self._driver("BEGIN", lambda: self.driver.execute("BEGIN"))
        try:
            return read(self.session)
        finally:
            self.session.expunge_all()
            self._driver("ROLLBACK", self.driver.rollback)

    def discard(self, error: BaseException) -> None:
        """Close the session after `error` without using its connection again: the connection
        is invalidated (closed, never back in the pool) and the session rolled back."""
        self.session.connection().invalidate()
        self.stack.__exit__(type(error), error, error.__traceback__)


class Readers:
    """`READ_THREADS` threads running reads, each in its thread's held session (see the module
    docstring). `submit(read)` runs `read(session)` in one of them; `close()` stops them and
    closes their sessions."""

    def __init__(self, db: Database, threads: int = READ_THREADS) -> None:
        self.db = db
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="cycle-engine-read")
        self._local = threading.local()
        self._lock = threading.Lock()
        self._held: list[_Held] = []

    def submit(self, read: Callable[[Session], T]) -> Future[T]:
        """Run `read(session)` in a reader thread; its result or error in the future."""
        return self._executor.submit(self._run, read)

    def _run(self, read: Callable[[Session], T]) -> T:
        held: _Held | None = getattr(self._local, "held", None)
        if held is None:
            held = self._local.held = _Held(self.db)
            with self._lock:
                self._held.append(held)
        try:
            return held.run(read)
        except exc.DBAPIError as error:  # the connection may be dead: the next read opens anew
            orig: Any = error.orig
            if held.dialect.is_disconnect(orig, held.driver, None):
                error.connection_invalidated = True  # as SQLAlchemy marks a lost connection
            self._local.held = None
            with self._lock:
                self._held.remove(held)
            held.discard(error)
            raise

    def close(self) -> None:
        """Wait for the reads under way, stop the threads and close their sessions."""
        self._executor.shutdown(wait=True)
        with self._lock:
            held, self._held = self._held, []
        for one in held:
            one.stack.close()
