"""`cycle-engine cycle list` through the database driver alone: a read of two tables should not
cost the import of SQLAlchemy, SQLModel and pydantic (about 0.35 s, twice the rest of the
command).

The list is one SELECT over `cycles` joined to `templates`, filtered by stage, status and
template and ordered by id: the same rows the engine's one list (`cycles.listing.cycles_query`)
gives for those filters, which a test checks on SQLite and PostgreSQL. It runs on `sqlite3`
(the file opened read-only: a list never creates a database) or `psycopg`. When the driver read
fails (no file, an old or empty schema), the command reads through the engine's store instead,
whose checks name the cause ("schema is empty; run `cycle-engine init`"); a server that does
not answer is reported at once, as the store would ("database: cannot connect (...)"), rather
than waited for twice.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from cycle_engine.cli.common import database_schema, database_url

#: The cycle's columns, in the order `--json` prints them.
COLUMNS = (
    "id",
    "title",
    "state",
    "status",
    "template_id",
    "template_key",
    "version",
    "alliance_id",
    "topic",
    "resume_state",
    "current_stage_id",
    "started_at",
    "updated_at",
    "finished_at",
    "created_by",
)
_TIMES = frozenset({"started_at", "updated_at", "finished_at"})
#: Filters the command offers: option name -> column.
_FILTERS = (("state", "state"), ("status", "status"), ("template_key", "template_key"))

Row = dict[str, Any]
#: Schema names passed to the server as they are (any other goes through the store's checks).
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def read_listing(
    db: str | None,
    *,
    state: str | None,
    status: str | None,
    template_key: str | None,
    limit: int,
    offset: int,
) -> list[Row]:
    """One page of the cycles in `state`, of `status` and on `template_key` (each when given),
    in id order; each row holds the cycle's columns and its template's label (`template`)."""
    url, schema = database_url(db), database_schema()
    filters = {"state": state, "status": status, "template_key": template_key}
    rows = _read_quickly(url, schema, filters, limit, offset)
    return rows if rows is not None else _read_through_store(url, schema, filters, limit, offset)


def _read_quickly(
    url: str, schema: str | None, filters: dict[str, str | None], limit: int, offset: int
) -> list[Row] | None:
    """The page through the driver, or None when only the store's read can say why not."""
    connect = _driver(url, schema)
    if connect is None:
        return None
    try:
        connection = connect()  # a server that does not answer is the reason given
    except sqlite3.Error:
        return None  # no such file: the store's read says what to do
    try:
        return _read(connection, filters, limit, offset)
    except Exception:  # an old or empty schema: the store's read names the cause
        return None
    finally:
        connection.close()


def _driver(url: str, schema: str | None) -> Callable[[], Any] | None:
    """A function opening a DB-API connection for `url`, or None for a URL this path does not
    read (any other database or driver goes through the store)."""
    scheme, _, rest = url.partition("://")
    if scheme in {"sqlite", "sqlite+pysqlite"} and schema is None:
        path = rest[1:] if rest.startswith("/") else rest
        if not path or path == ":memory:" or "?" in path:
            return None
        return lambda: sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True)
    if scheme in {"postgresql", "postgresql+psycopg"} and _PLAIN_NAME.fullmatch(schema or "_"):

        def connect() -> Any:
            import psycopg  # on use: SQLite lists never load it

            if schema:
                return psycopg.connect(f"postgresql://{rest}", options=f"-c search_path={schema}")
            return psycopg.connect(f"postgresql://{rest}")

        return connect
    return None


def _read(connection: Any, filters: dict[str, str | None], limit: int, offset: int) -> list[Row]:
    mark = "?" if isinstance(connection, sqlite3.Connection) else "%s"
    where = [f"c.{column} = {mark}" for name, column in _FILTERS if filters[name] is not None]
    values: list[Any] = [filters[name] for name, _ in _FILTERS if filters[name] is not None]
    sql = (
        f"SELECT {', '.join('c.' + c for c in COLUMNS)}, t.key, t.version"
        " FROM cycles c JOIN templates t ON t.id = c.template_id"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + f" ORDER BY c.id LIMIT {mark} OFFSET {mark}"
    )
    return [_row(record) for record in connection.execute(sql, [*values, limit, offset])]


def _row(record: Sequence[Any]) -> Row:
    row = dict(zip(COLUMNS, record, strict=False))
    for name in _TIMES:
        row[name] = _utc(row[name])
    key, version = record[len(COLUMNS)], record[len(COLUMNS) + 1]
    row["template"] = f"{key} v{version}"
    return row


def _utc(value: datetime | str | None) -> datetime | None:
    """A stored moment as aware UTC (SQLite keeps naive UTC text, PostgreSQL an aware time)."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _read_through_store(
    url: str, schema: str | None, filters: dict[str, str | None], limit: int, offset: int
) -> list[Row]:
    """The same page read through the engine's store and its one list of cycles; a failure
    raises the store's own error, after the schema check has had its say."""
    from sqlalchemy.exc import SQLAlchemyError
    from sqlmodel import col, select

    from cycle_engine.clock import SystemClock
    from cycle_engine.cycles.listing import CycleFilter, cycles_query
    from cycle_engine.store.db import Database
    from cycle_engine.store.tables import TemplateRecord

    wanted = CycleFilter(
        state=filters["state"], status=filters["status"], template_key=filters["template_key"]
    )
    query = cycles_query(wanted, SystemClock().now())
    database = Database(url, schema=schema)
    try:
        with database.read_session() as session:
            cycles = [row[0] for row in session.exec(query.offset(offset).limit(limit))]
            ids = {c.template_id for c in cycles}
            templates = session.exec(select(TemplateRecord).where(col(TemplateRecord.id).in_(ids)))
            labels = {t.id: t.label for t in templates if t.id is not None}
    except SQLAlchemyError:
        _check_schema(url, schema)  # a clearer reason, when the schema is the cause
        raise
    finally:
        database.dispose()
    return [
        {**{c: getattr(cycle, c) for c in COLUMNS}, "template": labels[cycle.template_id]}
        for cycle in cycles
    ]


def _check_schema(url: str, schema: str | None) -> None:
    from cycle_engine.engine import CycleEngine

    CycleEngine(url, schema=schema).close()
