"""Database connections: SQLite tuned for one-writer safety, PostgreSQL for many processes.

SQLite writes begin with `BEGIN IMMEDIATE` so two writers never deadlock on a lock upgrade;
readers use `read_session()` and begin deferred, so they never wait for a writer (WAL).
`Database.transaction()` is the one way commands touch the store: commit all or nothing.
On PostgreSQL the tables may live in a schema of the host's choosing: statements name it
(`schema_translate_map`) and the engine's connections search only it, so an unqualified name
never reaches a host's table of the same name.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlmodel import Session

from cycle_engine.errors import InvalidInput
from cycle_engine.store.turns import WriterTurns

_READONLY = "cycle_engine_readonly"
#: Rows of each index ANALYZE samples: enough for the planner to choose, bounded at any size.
_ANALYSIS_ROWS = 1000
_AFTER_COMMIT = "cycle_engine.after_commit"
_BEGIN_WRITE = "BEGIN IMMEDIATE"
_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
#: The session of the `Database.unit()` open in this thread or task, with its database.
_UNIT: ContextVar[tuple[Database, Session] | None] = ContextVar("cycle_engine_unit", default=None)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA cache_size=-32768")  # KiB per connection: hot index pages
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.execute("PRAGMA mmap_size=268435456")  # reads of pages another connection wrote
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # straight to the driver: SQLAlchemy's statement machinery costs more than the BEGIN
        statement = "BEGIN" if connection.get_execution_options().get(_READONLY) else _BEGIN_WRITE
        try:
            connection.connection.driver_connection.execute(statement)
        except sqlite3.Error as error:  # the same exception SQLAlchemy would raise
            raise exc.DBAPIError.instance(statement, (), error, sqlite3.Error) from error


def create_db_engine(url: str, *, echo: bool = False) -> Engine:
    """An SQLAlchemy engine for `url` (`sqlite:///path.db` or `postgresql+psycopg://...`)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:" and not parsed.query.get("uri"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}
        )
        _configure_sqlite(engine)
        return engine
    engine = create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10)
    event.listen(engine, "connect", _without_jit)
    return engine


def _without_jit(driver_connection: Any, _record: object) -> None:
    """PostgreSQL's JIT compiles a plan it expects to be costly; for short commands and page
    queries it costs more than it saves (108 of 387 ms for a deadline list over 1,000,000
    cycles whose row estimate was wrong). Set on each new connection after the URL's own
    `options`, which still apply to every other setting (a `-c jit=on` there is overridden)."""
    autocommit = driver_connection.autocommit
    driver_connection.autocommit = True
    with driver_connection.cursor() as cursor:
        cursor.execute("SET SESSION jit = off")
    driver_connection.autocommit = autocommit


def _check_schema_name(schema: str) -> None:
    """Raise InvalidInput unless `schema` is a plain PostgreSQL name the engine may create."""
    if not _SCHEMA_NAME.fullmatch(schema) or schema.lower().startswith("pg_"):
        raise InvalidInput(
            "schema",
            f"{schema!r} is not a usable schema name: use letters, digits and _ (at most 63, "
            "not starting with a digit or pg_)",
        )


def _search_only(engine: Engine, schema: str) -> None:
    """Every connection of `engine` resolves unqualified names in `schema` alone."""
    quoted = engine.dialect.identifier_preparer.quote_identifier(schema)

    @event.listens_for(engine, "connect", insert=True)
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET SESSION search_path TO {quoted}")
        dbapi_connection.autocommit = autocommit


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the transaction `session` belongs to has committed (never on rollback).

    Only sessions from `Database.transaction()` run these callbacks.
    """
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


class Database:
    """One database: its engine and the sessions commands and queries use.

    Args:
        url: SQLAlchemy URL of the database.
        echo: log every statement.
        schema: on PostgreSQL, the schema holding the engine's tables (default: the search path).

    Raises:
        InvalidInput: `schema` is given for another database, or is not a plain name.
    """

    def __init__(self, url: str, *, echo: bool = False, schema: str | None = None) -> None:
        self.url = url
        self.schema = schema
        if schema is not None:
            backend = make_url(url).get_backend_name()
            if backend != "postgresql":
                raise InvalidInput(
                    "schema", f"a schema for the tables needs PostgreSQL, not {backend}"
                )
            _check_schema_name(schema)
        engine = create_db_engine(url, echo=echo)
        if schema is not None:
            _search_only(engine, schema)
            engine = engine.execution_options(schema_translate_map={None: schema})
        self.engine = engine
        self._read_engine = self.engine.execution_options(**{_READONLY: True})
        #: SQLite has one writer at a time: this process's writers queue here, first come first
        #: served (`store.turns`).
        self._writer_turn: AbstractContextManager[object] = (
            WriterTurns() if engine.dialect.name == "sqlite" else nullcontext()
        )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session inside one write transaction: commits on success, rolls back on error.

        Callbacks registered with `after_commit(session, ...)` run once the commit succeeded.
        On SQLite, writers of this process take turns through one lock before `BEGIN
        IMMEDIATE`, instead of polling SQLite's busy handler (which starves some of them).
        """
        shared = self._unit_session()
        if shared is not None:  # inside a unit: a savepoint of its transaction
            pending = len(shared.info.get(_AFTER_COMMIT, ()))
            try:
                with shared.begin_nested():
                    yield shared
            except BaseException:
                del shared.info.get(_AFTER_COMMIT, [])[pending:]  # nothing of it commits
                raise
            return
        with self._writer_turn, Session(self.engine, expire_on_commit=False) as session:
            with session.begin():
                yield session
            callbacks = session.info.pop(_AFTER_COMMIT, ())
        for callback in callbacks:
            callback()

    @contextmanager
    def unit(self) -> Iterator[Session]:
        """One write transaction that every `transaction()` and `read_session()` of this
        database opened inside it (in the same thread or task) joins, so a caller can add its
        own rows to a command's commit: the API stores a command's answer to an
        Idempotency-Key this way. A joined `transaction()` is a savepoint: an error inside it
        undoes only its part; an error leaving the unit undoes everything.
        """
        if self._unit_session() is not None:
            raise RuntimeError("a unit is already open in this context")
        with self.transaction() as session:
            token = _UNIT.set((self, session))
            try:
                yield session
            finally:
                _UNIT.reset(token)

    def _unit_session(self) -> Session | None:
        unit = _UNIT.get()
        return unit[1] if unit is not None and unit[0] is self else None

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session for queries; never takes the write lock (inside a `unit()`, its session)."""
        shared = self._unit_session()
        if shared is not None:
            yield shared
            return
        with Session(self._read_engine, expire_on_commit=False) as session, session.begin():
            yield session

    def refresh_statistics(self) -> None:
        """Give SQLite's query planner statistics of the tables as they are now: a bounded
        ANALYZE (each index sampled, a few milliseconds even at a million cycles). Without
        them SQLite plans the dashboard's deadline and stall lists as a scan of every cycle
        (1.4 s at 100,000 cycles, about 2 ms with them). PostgreSQL's autovacuum keeps its own.
        """
        if not self.is_sqlite:
            return
        with self.transaction() as session:
            connection = session.connection()
            connection.exec_driver_sql(f"PRAGMA analysis_limit={_ANALYSIS_ROWS}")
            connection.exec_driver_sql("ANALYZE")

    def dispose(self) -> None:
        self.engine.dispose()
