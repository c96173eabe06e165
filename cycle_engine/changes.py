"""What a command changed, handed to listeners inside the same transaction.

Listeners (the scheduler's timers, the notification outbox, webhooks) add their own rows to the
command's session; they never commit. So a transition, its event, its timers and its emails
commit together or not at all.

The hot paths (a transition, a timer firing) write their rows with prepared SQLAlchemy Core
statements instead of unit-of-work flushes, which cost more than SQLite itself. The ORM objects
listeners receive stay faithful: `store_row` and `save_columns` leave each object attached to
the session, with its id, exactly as if the ORM had flushed it (so a listener may still change
an attribute and have it saved at commit). `core_connection` flushes pending ORM changes first,
as autoflush would before a query.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Table, bindparam, insert, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import configure_mappers, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, SQLModel

from cycle_engine.actors import Actor
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.store.tables import CycleRecord, EventRecord, StageRecord


@dataclass(frozen=True, kw_only=True)
class Change:
    """One recorded event and the stage visits it closed or opened."""

    session: Session
    cycle: CycleRecord
    spec: TemplateSpec
    event: EventRecord
    actor: Actor
    now: datetime
    left: StageRecord | None = None
    entered: StageRecord | None = None


class ChangeListener(Protocol):
    """Adds rows that follow from a change; must not commit."""

    def on_change(self, change: Change) -> None: ...


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
