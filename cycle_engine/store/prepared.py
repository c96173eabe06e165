"""Prebuilt statements run on the driver's own cursor: the hot paths' SQL without SQLAlchemy's
per-execution machinery.

A transition writes about a dozen statements; SQLAlchemy's execution of one (cache key,
parameter processing, execution context, result wrapping) costs several times what SQLite takes
to run it. The hot statements are still written as SQLAlchemy Core statements (one source of
truth for table and column names), but each is compiled once per dialect to the driver's SQL
with named parameters and then run on the DB-API cursor of the session's connection, inside
the session's transaction. What SQLAlchemy's types would do to each value is done here, chosen
once per statement from the column types: UTC datetimes as naive text on SQLite in
SQLAlchemy's own format (so both paths write, read and compare the same values), JSON,
booleans and dates. Every statement sent here is told to `watch`ers, so a count of statements
(tests, benchmarks) sees these beside SQLAlchemy's own.

Public SQLAlchemy only: `compile(dialect=..., column_keys=...)`, the compiled string and its
`binds`, a statement's `exported_columns`, and the session's DB-API connection.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, event, exc
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement
from sqlmodel import Session

from cycle_engine.store.tables.types import UTCDateTime

Convert = Callable[[Any], Any]
#: The session's transaction and the DB-API connection, dialect and engine it runs on.
_CONNECTION = "cycle_engine.prepared_connection"
#: Per engine, callbacks told of every statement sent through this module (its SQL text).
_watchers: dict[Engine, list[Callable[[str], None]]] = {}


def _sqlite_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not UTC:
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given where UTC is required")
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def _postgres_time(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r} given where UTC is required")
    return value


def _read_sqlite_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def _read_postgres_time(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def _json_text(value: Any) -> str:
    return json.dumps(value)  # None too: SQLAlchemy's JSON stores None as JSON null


def _postgres_json(value: Any) -> Any:
    from psycopg.types.json import Json  # only PostgreSQL commands get here

    return Json(value)


def _read_json_text(value: str | None) -> Any:
    return None if value is None else json.loads(value)


def _read_bool(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def _read_date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _iso_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _bind_converter(column_type: Any, sqlite: bool) -> Convert | None:
    """How a value of `column_type` goes to the driver (None: as it is)."""
    if isinstance(column_type, UTCDateTime):
        return _sqlite_time if sqlite else _postgres_time
    if isinstance(column_type, JSON):
        return _json_text if sqlite else _postgres_json
    if isinstance(column_type, Date) and sqlite:
        return _iso_date
    return None


def _result_converter(column_type: Any, sqlite: bool) -> Convert | None:
    """How a value of `column_type` comes back from the driver (None: as it is)."""
    if isinstance(column_type, UTCDateTime):
        return _read_sqlite_time if sqlite else _read_postgres_time
    if sqlite and isinstance(column_type, JSON):
        return _read_json_text
    if sqlite and isinstance(column_type, Boolean):
        return _read_bool
    if sqlite and isinstance(column_type, Date):
        return _read_date
    return None


class _Compiled:
    """One statement in one dialect: its SQL and what to do to each value."""

    def __init__(self, statement: ClauseElement, dialect: Dialect, keys: Sequence[str]) -> None:
        sqlite = dialect.name == "sqlite"
        if sqlite:  # sqlite3 takes `:name` parameters from a mapping
            named: Any = type(dialect)
            dialect = named(paramstyle="named")
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        assert isinstance(compiled, SQLCompiler)
        self.sql = compiled.string
        self.binds: list[tuple[str, Convert]] = []
        #: Values written into the statement itself (`.values(status="cancelled")`).
        self.fixed: dict[str, Any] = {}
        for name in compiled.params:  # the parameters the SQL names
            bind = compiled.binds[name]
            convert = _bind_converter(bind.type, sqlite)
            if name not in keys and not bind.required:
                value = bind.effective_value
                self.fixed[name] = value if convert is None else convert(value)
            elif convert is not None:
                self.binds.append((name, convert))
        columns = getattr(statement, "exported_columns", ())
        converters = [_result_converter(column.type, sqlite) for column in columns]
        self.results: list[tuple[int, Convert]] = [
            (n, convert) for n, convert in enumerate(converters) if convert is not None
        ]

    def values(self, params: Mapping[str, Any]) -> dict[str, Any]:
        values = {**self.fixed, **params}
        for name, convert in self.binds:
            if name in values:
                values[name] = convert(values[name])
        return values

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        if not self.results:
            return tuple(raw)
        row = list(raw)
        for n, convert in self.results:
            row[n] = convert(row[n])
        return tuple(row)


class Prepared:
    """A Core statement run on the driver's cursor (compiled once per dialect and key set).

    Its parameters are named (`bindparam("x")`, or the column keys of an INSERT/UPDATE);
    every one must be given (no SQL or Python column defaults are filled in here).
    """

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, tuple[str, ...]], _Compiled] = {}

    def compiled(self, dialect: Dialect, params: Mapping[str, Any]) -> _Compiled:
        keys = tuple(params)
        found = self._compiled.get((dialect.name, keys))
        if found is None:
            found = self._compiled[(dialect.name, keys)] = _Compiled(self.statement, dialect, keys)
        return found


class _Cursor:
    """A DB-API cursor in a session's transaction, for one prepared statement."""

    def __init__(self, session: Session, prepared: Prepared, params: Mapping[str, Any]) -> None:
        session.flush()  # pending ORM changes first, as autoflush would before a query
        transaction = session.get_transaction()
        held = session.info.get(_CONNECTION)
        if held is None or held[0] is not transaction:  # asking the session costs more than SQLite
            connection = session.connection()
            held = (transaction, connection.connection, connection.dialect, connection.engine)
            session.info[_CONNECTION] = held
        _transaction, dbapi_connection, dialect, engine = held
        self.dialect: Dialect = dialect
        self.compiled = prepared.compiled(self.dialect, params)
        if _watchers:
            for watcher in _watchers.get(engine, ()):
                watcher(self.compiled.sql)
        self.cursor = dbapi_connection.cursor()

    def __enter__(self) -> _Cursor:
        return self

    def __exit__(self, kind: object, error: BaseException | None, _trace: object) -> None:
        """Close the cursor; a driver's error leaves as SQLAlchemy's (IntegrityError,
        OperationalError, ...), as every other statement's would."""
        self.cursor.close()
        driver_error = self.dialect.loaded_dbapi.Error
        if isinstance(error, driver_error):
            raise exc.DBAPIError.instance(
                self.compiled.sql, None, error, driver_error, dialect=self.dialect
            ) from error


def fetch(session: Session, prepared: Prepared, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """Every row `prepared` returns (a SELECT, or a statement with RETURNING)."""
    with _Cursor(session, prepared, params) as sent:
        sent.cursor.execute(sent.compiled.sql, sent.compiled.values(params))
        return [sent.compiled.row(raw) for raw in sent.cursor.fetchall()]


def fetch_one(
    session: Session, prepared: Prepared, params: Mapping[str, Any]
) -> tuple[Any, ...] | None:
    """The first row `prepared` returns, if any."""
    rows = fetch(session, prepared, params)
    return rows[0] if rows else None


def run(session: Session, prepared: Prepared, params: Mapping[str, Any]) -> int:
    """Run `prepared` once; how many rows it changed."""
    with _Cursor(session, prepared, params) as sent:
        sent.cursor.execute(sent.compiled.sql, sent.compiled.values(params))
        return int(sent.cursor.rowcount)


def run_many(session: Session, prepared: Prepared, rows: Sequence[Mapping[str, Any]]) -> int:
    """Run `prepared` once per row (all rows with the same keys), in one driver call; how many
    rows it changed in all (an INSERT that skips a conflict does not count that row)."""
    if not rows:
        return 0
    with _Cursor(session, prepared, rows[0]) as sent:
        sent.cursor.executemany(sent.compiled.sql, [sent.compiled.values(row) for row in rows])
        return int(sent.cursor.rowcount)


@contextmanager
def watch(engine: Engine, callback: Callable[[str], None]) -> Iterator[None]:
    """Tell `callback` the SQL of every statement sent to `engine`'s database while inside,
    through SQLAlchemy or through this module (to count a command's statements)."""

    def told(*args: Any) -> None:
        callback(args[2])

    event.listen(engine, "before_cursor_execute", told)
    _watchers.setdefault(engine, []).append(callback)
    try:
        yield
    finally:
        _watchers[engine].remove(callback)
        if not _watchers[engine]:
            del _watchers[engine]
        event.remove(engine, "before_cursor_execute", told)
