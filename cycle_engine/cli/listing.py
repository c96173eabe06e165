"""`cycle-engine cycle list` without opening the whole engine: the one list of cycles
(`cycles.listing.cycles_query`, what the API and the dashboard list) read on a bare `Database`.

Opening a `CycleEngine` imports every service, the migrations (Alembic), the templates' state
machines and the email renderer: most of a second of imports for a read of one table. This
imports the store, the tables and the listing query, so the command's imports stay within the
budget `tests/cycle_engine/cli/test_cli_startup.py` holds. The schema is not checked up front;
when the read fails, the engine's schema check runs and its clear error (for example "the
database is at an older schema: run `cycle-engine migrate`") is what the command reports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cycle_engine.cli.common import database_schema, database_url

if TYPE_CHECKING:
    from cycle_engine.store.tables import CycleRecord


def read_listing(
    db: str | None,
    *,
    state: str | None,
    status: str | None,
    template_key: str | None,
    limit: int,
    offset: int,
) -> tuple[list[CycleRecord], dict[int, str]]:
    """One page of the cycles in `state`, of `status` and on `template_key` (each when given),
    in id order, and the label of each of their templates."""
    from sqlalchemy.exc import SQLAlchemyError
    from sqlmodel import col, select

    from cycle_engine.clock import SystemClock
    from cycle_engine.cycles.listing import CycleFilter, cycles_query
    from cycle_engine.store.db import Database
    from cycle_engine.store.tables import TemplateRecord

    url, schema = database_url(db), database_schema()
    filters = CycleFilter(state=state, status=status, template_key=template_key)
    query = cycles_query(filters, SystemClock().now())
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
    return cycles, labels


def _check_schema(url: str, schema: str | None) -> None:
    from cycle_engine.engine import CycleEngine

    CycleEngine(url, schema=schema).close()
