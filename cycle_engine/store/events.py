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
    Connection,
    Table,
    bindparam,
    exists,
    func,
    insert,
    select,
    true,
    update,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import configure_mappers, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, SQLModel

from cycle_engine.actors import Actor
from cycle_engine.errors import CycleNotFound
from cycle_engine.store.prepared import Prepared, fetch, fetch_one, run
from cycle_engine.store.tables import CycleRecord, EventRecord, StageRecord
from cycle_engine.store.tables.access import WebhookSubscriptionRecord
from cycle_engine.store.tables.alliances import AllianceRecord, PlanRecord
from cycle_engine.store.tables.types import UTCDateTime

_EVENTS: Table = EventRecord.__table__  # type: ignore[attr-defined]
_INSERT_EVENT = Prepared(insert(_EVENTS).returning(_EVENTS.c.id))
_UPDATES: dict[str, Prepared] = {}
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
        statement = Prepared(update(table).where(table.c.id == bindparam("record_id")))
        _UPDATES[table.name] = statement
    run(session, statement, {**values, "record_id": record.id})  # type: ignore[attr-defined]
    for name, value in values.items():
        set_committed_value(record, name, value)
    if record not in session:
        session.add(record)


def store_event(session: Session, row: dict[str, Any]) -> EventRecord:
    """INSERT an event row (all columns but the id); returns it as a persistent object."""
    ((event_id,),) = fetch(session, _INSERT_EVENT, row)
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
_ALLIANCES: Table = AllianceRecord.__table__  # type: ignore[attr-defined]
_HOOKS: Table = WebhookSubscriptionRecord.__table__  # type: ignore[attr-defined]
_PLAN: Table = PlanRecord.__table__  # type: ignore[attr-defined]
_CYCLE_COLUMNS = [column.name for column in _CYCLES.columns]
_VISIT_COLUMNS = [column.name for column in _VISITS.columns]
_ALLIANCE_COLUMNS = [column.name for column in _ALLIANCES.columns]
#: Whether the cycle's alliance has an active webhook subscription (so the webhook listener
#: knows, without a query, that most changes have nobody to tell).
_HAS_WEBHOOKS = (
    exists()
    .where(_HOOKS.c.alliance_id == _CYCLES.c.alliance_id, _HOOKS.c.active == true())
    .label("has_webhooks")
)
_LOCKED_FROM = _CYCLES.outerjoin(_ALLIANCES, _ALLIANCES.c.id == _CYCLES.c.alliance_id)
#: The cycle row, locked (PostgreSQL: `FOR UPDATE OF cycles`; SQLite: `BEGIN IMMEDIATE` already
#: holds the write lock), with its alliance and whether that has webhooks: what every command on
#: a cycle reads first. On SQLite its current stage visit comes in the same round trip;
#: PostgreSQL re-reads only the locked row after waiting for a lock, so there the visit is read
#: (or, leaving it, updated with RETURNING) after.
_LOCK = Prepared(
    select(*_CYCLES.columns, *_ALLIANCES.columns, _HAS_WEBHOOKS)
    .select_from(_LOCKED_FROM)
    .where(_CYCLES.c.id == bindparam("cycle_id"))
    .with_for_update(of=_CYCLES)
)
_LOCK_WITH_VISIT = Prepared(
    select(*_CYCLES.columns, *_ALLIANCES.columns, _HAS_WEBHOOKS, *_VISITS.columns)
    .select_from(_LOCKED_FROM.outerjoin(_VISITS, _VISITS.c.id == _CYCLES.c.current_stage_id))
    .where(_CYCLES.c.id == bindparam("cycle_id"))
)
_VISIT = Prepared(select(*_VISITS.columns).where(_VISITS.c.id == bindparam("visit_id")))
_LEAVE_VISIT = Prepared(
    update(_VISITS)
    .where(_VISITS.c.id == bindparam("visit_id"))
    .values(left_at=bindparam("leaving_at", type_=UTCDateTime()))
    .returning(*_VISITS.columns)
)
_EARLIER_VISITS = select(_PREVIOUS.c.id).where(
    _PREVIOUS.c.cycle_id == bindparam("visit_cycle_id"),
    _PREVIOUS.c.stage == bindparam("visit_stage"),
)
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
    .returning(_VISITS.c.id, _VISITS.c.visit, _VISITS.c.due_at)
)
#: The same, due when the work plan says for a first visit (else at `due_at`): the plan's date
#: read in the INSERT, not in a query before it.
_INSERT_PLANNED_VISIT = _INSERT_VISIT.values(
    due_at=func.coalesce(
        select(_PLAN.c.planned_due)
        .where(
            _PLAN.c.cycle_id == bindparam("visit_cycle_id"),
            _PLAN.c.stage == bindparam("visit_stage"),
            ~_EARLIER_VISITS.exists(),
        )
        .limit(1)
        .scalar_subquery(),
        bindparam("fallback_due", type_=UTCDateTime()),
    )
)
#: By whether the work plan dates the visit.
_INSERTS_VISIT = {False: Prepared(_INSERT_VISIT), True: Prepared(_INSERT_PLANNED_VISIT)}
_NEW_VISITS = "cycle_engine.new_visits"
_LOADED = "cycle_engine.loaded_visits"
_WEBHOOKS = "cycle_engine.alliance_webhooks"


def lock_cycle(session: Session, cycle_id: int) -> CycleRecord:
    """The cycle row, locked for this transaction; raises CycleNotFound.

    Its alliance (when it has one) comes in the same statement and stays in the session, so
    `session.get(AllianceRecord, id)` later costs no query; so does its current visit on SQLite.
    """
    joined = session.get_bind().dialect.name == "sqlite"
    row = fetch_one(session, _LOCK_WITH_VISIT if joined else _LOCK, {"cycle_id": cycle_id})
    if row is None:
        raise CycleNotFound(cycle_id)
    cycle_end = len(_CYCLE_COLUMNS)
    alliance_end = cycle_end + len(_ALLIANCE_COLUMNS)
    cycle = adopt(session, CycleRecord, dict(zip(_CYCLE_COLUMNS, row[:cycle_end], strict=True)))
    if row[cycle_end] is not None:
        alliance_values = dict(zip(_ALLIANCE_COLUMNS, row[cycle_end:alliance_end], strict=True))
        keep_loaded(session, adopt(session, AllianceRecord, alliance_values))
    _webhooks(session)[cycle_id] = bool(row[alliance_end])
    if joined and row[alliance_end + 1] is not None:
        visit_values = dict(zip(_VISIT_COLUMNS, row[alliance_end + 1 :], strict=True))
        keep_loaded(session, adopt(session, StageRecord, visit_values))
    return cycle


def _webhooks(session: Session) -> dict[int, bool]:
    """Per cycle locked in the current transaction: whether its alliance has webhooks."""
    transaction = session.get_transaction()
    mark = session.info.get(_WEBHOOKS)
    if mark is None or mark[0] is not transaction:
        mark = (transaction, {})
        session.info[_WEBHOOKS] = mark
    known: dict[int, bool] = mark[1]
    return known


def has_webhooks(session: Session, cycle_id: int) -> bool | None:
    """Whether the alliance of a cycle locked in this transaction has an active webhook
    subscription, as the lock read it; None when the cycle was not locked here."""
    return _webhooks(session).get(cycle_id)


def current_visit(session: Session, cycle: CycleRecord) -> StageRecord | None:
    """The cycle's current stage visit (None when finished); no query when already loaded."""
    visit_id = cycle.current_stage_id
    if visit_id is None:
        return None
    visit = loaded(session, StageRecord, visit_id)
    if visit is not None:
        return visit
    row = fetch_one(session, _VISIT, {"visit_id": visit_id})
    if row is None:
        return None
    values = dict(zip(_VISIT_COLUMNS, row, strict=True))
    return keep_loaded(session, adopt(session, StageRecord, values))


def keep_loaded(session: Session, record: R) -> R:
    """Hold `record` for the session's life (its identity map holds objects only weakly), so
    later look-ups (`current_visit`, `session.get`) find it without a query."""
    session.info.setdefault(_LOADED, []).append(record)
    return record


def leave_visit(session: Session, cycle: CycleRecord, now: datetime) -> StageRecord | None:
    """Close the cycle's current stage visit (`left_at`); returns it (None when finished).

    One statement either way: an UPDATE of the visit the session holds, or an UPDATE that
    returns the row when it was not read yet (PostgreSQL, where the lock reads the cycle alone).
    """
    visit_id = cycle.current_stage_id
    if visit_id is None:
        return None
    visit = loaded(session, StageRecord, visit_id)
    if visit is not None:
        save_columns(session, visit, {"left_at": now})
        return visit
    row = fetch_one(session, _LEAVE_VISIT, {"visit_id": visit_id, "leaving_at": now})
    if row is None:
        return None
    values = dict(zip(_VISIT_COLUMNS, row, strict=True))
    return keep_loaded(session, adopt(session, StageRecord, values, refresh=True))


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
    session: Session,
    cycle: CycleRecord,
    stage: str,
    now: datetime,
    due_at: datetime | None,
    *,
    planned: bool = False,
) -> StageRecord:
    """INSERT a new visit of `stage` (numbered after the stage's earlier visits).

    `planned`: a first visit is due when the cycle's work plan says (`due_at` when the plan has
    no row for the stage, and for later visits), looked up inside the INSERT.
    """
    assert cycle.id is not None
    row = {
        "cycle_id": cycle.id,
        "stage": stage,
        "entered_at": now,
        "due_at": due_at,
        "left_at": None,
        "last_activity_at": now,
    }
    params: dict[str, Any] = {**row, "visit_cycle_id": cycle.id, "visit_stage": stage}
    if planned:
        params["fallback_due"] = params.pop("due_at")
    ((visit_id, number, due),) = fetch(session, _INSERTS_VISIT[planned], params)
    visit = adopt(session, StageRecord, {**row, "id": visit_id, "visit": number, "due_at": due})
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
