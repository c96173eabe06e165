"""The fast write path: the cycle lock, stage visits and history events, in Core statements.

The hot paths (a transition, a timer firing) write their rows with prepared SQLAlchemy Core
statements instead of unit-of-work flushes, which cost more than SQLite itself. The ORM objects
callers receive stay faithful: `store_row`-style helpers leave each object attached to the
session, with its id, exactly as if the ORM had flushed it (so a listener may still change an
attribute and have it saved at commit). `core_connection` flushes pending ORM changes first, as
autoflush would before a query. Every helper works inside the caller's transaction and never
commits. The cycle row is locked (`FOR UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE` already
serialises writers), so a version check against it cannot race.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    LABEL_STYLE_TABLENAME_PLUS_COL,
    Connection,
    Table,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import configure_mappers, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, SQLModel

from cycle_engine.actors import Actor
from cycle_engine.errors import CycleNotFound
from cycle_engine.store.tables import CycleRecord, EventRecord, StageRecord

_EVENTS: Table = EventRecord.__table__  # type: ignore[attr-defined]
_INSERT_EVENT = insert(_EVENTS).returning(_EVENTS.c.id)
_UPDATES: dict[str, Any] = {}
_mappers: dict[type[Any], Any] = {}
R = TypeVar("R", bound=SQLModel)


def core_connection(session: Session) -> Connection:
    """The session's connection, after flushing pending ORM changes (what autoflush does)."""
    session.flush()  # returns at once when nothing is pending
    return session.connection()


def _mapper(model: type[Any]) -> Any:
    mapper = _mappers.get(model)
    if mapper is None:
        configure_mappers()  # an object made before any query needs configured attributes
        mapper = _mappers[model] = sa_inspect(model)
    return mapper


def loaded(session: Session, model: type[R], record_id: int) -> R | None:
    """The session's object of `model` with `record_id`, if it has one (no SQL)."""
    found: R | None = session.identity_map.get(
        _mapper(model).identity_key_from_primary_key((record_id,))
    )
    return found


def adopt(
    session: Session, model: type[R], values: Mapping[str, Any], *, refresh: bool = False
) -> R:
    """The session's object for the row `values` (all columns) just read or written.

    What an ORM load gives, without its cost: the object the session already has for that id
    (with `refresh`, updated to `values`, like `populate_existing`), else a new persistent one
    with `values` as its loaded state (no SQL, nothing dirty).
    """
    mapper = _mapper(model)
    key = mapper.identity_key_from_primary_key((values["id"],))
    existing = session.identity_map.get(key)
    if existing is not None:
        found: R = existing
        if refresh:
            for name, value in values.items():
                set_committed_value(found, name, value)
        return found
    record: R = mapper.class_manager.new_instance()
    record.__dict__.update(values)  # how the ORM itself populates a loaded object
    object.__setattr__(record, "__pydantic_fields_set__", set(values))
    make_transient_to_detached(record)
    session.add(record)
    return record


def save_columns(session: Session, record: SQLModel, values: dict[str, Any]) -> None:
    """UPDATE `values` on `record`'s row (by id) and set them as its committed state."""
    table: Table = record.__table__  # type: ignore[attr-defined]
    statement = _UPDATES.get(table.name)
    if statement is None:
        statement = update(table).where(table.c.id == bindparam("record_id"))
        _UPDATES[table.name] = statement
    core_connection(session).execute(statement, {**values, "record_id": record.id})  # type: ignore[attr-defined]
    for name, value in values.items():
        set_committed_value(record, name, value)
    if record not in session:
        session.add(record)


def store_event(session: Session, row: dict[str, Any]) -> EventRecord:
    """INSERT an event row (all columns but the id); returns it as a persistent object."""
    event_id = core_connection(session).execute(_INSERT_EVENT, row).scalar_one()
    return adopt(session, EventRecord, {"id": event_id, **row})


def append_event(
    session: Session,
    cycle: CycleRecord,
    *,
    kind: str,
    actor: Actor,
    now: datetime,
    trigger: str | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    note: str | None = None,
    data: dict[str, Any] | None = None,
    cycle_values: dict[str, Any] | None = None,
) -> EventRecord:
    """Bump the cycle's version and store the history line carrying it (does not commit).

    `cycle_values` are further cycle columns saved in the same UPDATE as the version (a
    transition's new state and stage visit). The returned event has its id.
    """
    assert cycle.id is not None
    version = cycle.version + 1
    save_columns(session, cycle, {**(cycle_values or {}), "version": version, "updated_at": now})
    return store_event(
        session,
        {
            "cycle_id": cycle.id,
            "seq": version,
            "at": now,
            "actor": actor.name,
            "kind": kind,
            "trigger": trigger,
            "from_state": from_state,
            "to_state": to_state,
            "note": note,
            "data": data or {},
        },
    )


_VISITS: Table = StageRecord.__table__  # type: ignore[attr-defined]
_PREVIOUS = _VISITS.alias("previous")
_CYCLES: Table = CycleRecord.__table__  # type: ignore[attr-defined]
_CYCLE_COLUMNS = [column.name for column in _CYCLES.columns]
_VISIT_COLUMNS = [column.name for column in _VISITS.columns]
#: The cycle row, locked (PostgreSQL: `FOR UPDATE`; SQLite: `BEGIN IMMEDIATE` already holds the
#: write lock). On SQLite its current stage visit comes in the same round trip; PostgreSQL
#: re-reads only the locked row after waiting for a lock, so there the visit is read after.
_LOCK = select(*_CYCLES.columns).where(_CYCLES.c.id == bindparam("cycle_id")).with_for_update()
_LOCK_WITH_VISIT = (
    select(*_CYCLES.columns, *_VISITS.columns)
    .select_from(_CYCLES.outerjoin(_VISITS, _VISITS.c.id == _CYCLES.c.current_stage_id))
    .where(_CYCLES.c.id == bindparam("cycle_id"))
    .set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL)
)
_VISIT = select(*_VISITS.columns).where(_VISITS.c.id == bindparam("visit_id"))
_LAST_VISIT = select(func.max(_VISITS.c.visit)).where(
    _VISITS.c.cycle_id == bindparam("cycle_id"), _VISITS.c.stage == bindparam("stage")
)
#: A new visit numbered after the stage's earlier visits, in the INSERT itself.
_INSERT_VISIT = (
    insert(_VISITS)
    .values(
        visit=select(func.coalesce(func.max(_PREVIOUS.c.visit), 0) + 1)
        .where(
            _PREVIOUS.c.cycle_id == bindparam("visit_cycle_id"),
            _PREVIOUS.c.stage == bindparam("visit_stage"),
        )
        .scalar_subquery()
    )
    .returning(_VISITS.c.id, _VISITS.c.visit)
)
_NEW_VISITS = "cycle_engine.new_visits"
_LOADED = "cycle_engine.loaded_visits"


def lock_cycle(session: Session, cycle_id: int) -> CycleRecord:
    """The cycle row, locked for this transaction; raises CycleNotFound."""
    connection = core_connection(session)
    joined = connection.dialect.name == "sqlite"
    row = connection.execute(_LOCK_WITH_VISIT if joined else _LOCK, {"cycle_id": cycle_id}).first()
    if row is None:
        raise CycleNotFound(cycle_id)
    width = len(_CYCLE_COLUMNS)
    cycle = adopt(session, CycleRecord, dict(zip(_CYCLE_COLUMNS, row[:width], strict=True)))
    if joined and row[width] is not None:
        keep_loaded(
            session,
            adopt(session, StageRecord, dict(zip(_VISIT_COLUMNS, row[width:], strict=True))),
        )
    return cycle


def current_visit(session: Session, cycle: CycleRecord) -> StageRecord | None:
    """The cycle's current stage visit (None when finished); no query when already loaded."""
    visit_id = cycle.current_stage_id
    if visit_id is None:
        return None
    visit = loaded(session, StageRecord, visit_id)
    if visit is not None:
        return visit
    row = core_connection(session).execute(_VISIT, {"visit_id": visit_id}).first()
    if row is None:
        return None
    return keep_loaded(session, adopt(session, StageRecord, row._asdict()))


def keep_loaded(session: Session, visit: StageRecord) -> StageRecord:
    """Hold `visit` for the session's life (its identity map holds objects only weakly), so
    later look-ups (`current_visit`, `session.get`) find it without a query."""
    session.info.setdefault(_LOADED, []).append(visit)
    return visit


def new_visit_ids(session: Session) -> set[int]:
    """Ids of the stage visits opened in the session's current transaction.

    Such a visit has no timers and no stall flags yet but those this transaction adds, which
    lets the scheduler's listener skip looking for them.
    """
    transaction = session.get_transaction()
    mark = session.info.get(_NEW_VISITS)
    if mark is None or mark[0] is not transaction:
        mark = (transaction, set())
        session.info[_NEW_VISITS] = mark
    ids: set[int] = mark[1]
    return ids


def insert_visit(
    session: Session, cycle: CycleRecord, stage: str, now: datetime, due_at: datetime | None
) -> StageRecord:
    """INSERT a new visit of `stage` (numbered after the stage's earlier visits)."""
    assert cycle.id is not None
    row = {
        "cycle_id": cycle.id,
        "stage": stage,
        "entered_at": now,
        "due_at": due_at,
        "left_at": None,
        "last_activity_at": now,
    }
    visit_id, number = (
        core_connection(session)
        .execute(_INSERT_VISIT, {**row, "visit_cycle_id": cycle.id, "visit_stage": stage})
        .one()
    )
    visit = adopt(session, StageRecord, {"id": visit_id, "visit": number, **row})
    new_visit_ids(session).add(visit_id)
    return visit


def last_visit_number(session: Session, cycle_id: int, stage: str) -> int:
    """How many times the cycle has entered `stage` so far (0 when never)."""
    number = (
        core_connection(session)
        .execute(_LAST_VISIT, {"cycle_id": cycle_id, "stage": stage})
        .scalar()
    )
    return int(number or 0)
