"""One cycle as its page shows it (`GET /api/v1/cycles/{id}`, `cycle-engine cycle show`): the
cycle's row, its template's version number and its open stage visit, read in one statement.

Reading a cycle is the request clients make most. The statement is built once and run on the
driver's cursor (`store.prepared`), and its row becomes the cycle and visit objects as the ORM
itself fills a loaded object (its values as the object's state), without the ORM's per-query
machinery and identity bookkeeping, which cost several times what the database takes to answer.
They are read-only snapshots (a command locks and loads the cycle in its own transaction). The
triggers and their reasons are the engine's (`firing.explain`), computed on those objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Integer, Table, bindparam, inspect, select
from sqlmodel import Session, SQLModel

from cycle_engine.spec.machine import TriggerOption
from cycle_engine.store.prepared import Prepared, fetch_one
from cycle_engine.store.tables import CycleRecord, StageRecord, TemplateRecord

_CYCLES: Table = CycleRecord.__table__  # type: ignore[attr-defined]
_VISITS: Table = StageRecord.__table__  # type: ignore[attr-defined]
_TEMPLATES: Table = TemplateRecord.__table__  # type: ignore[attr-defined]
R = TypeVar("R", bound=SQLModel)
_CYCLE_KEYS = tuple(column.key for column in _CYCLES.columns)
_VISIT_KEYS = tuple(column.key for column in _VISITS.columns)

#: The cycle, its template's version number and its open stage visit (NULLs when finished).
_READ = Prepared(
    select(*_CYCLES.columns, _TEMPLATES.c.version, *_VISITS.columns)
    .select_from(
        _CYCLES.join(_TEMPLATES, _TEMPLATES.c.id == _CYCLES.c.template_id).outerjoin(
            _VISITS, _VISITS.c.id == _CYCLES.c.current_stage_id
        )
    )
    .where(_CYCLES.c.id == bindparam("cycle_id", type_=Integer()))
)
#: A cycle, its template's version number and its open stage visit.
Read = tuple[CycleRecord, int, StageRecord | None]


@dataclass(frozen=True, kw_only=True)
class CycleView:
    """A cycle as its page shows it: the row, the template version, the open stage visit (None
    when finished) and every trigger from its stage with the reasons it is blocked."""

    cycle: CycleRecord
    template_version: int
    stage: StageRecord | None
    triggers: list[TriggerOption]


def read_cycle(session: Session, cycle_id: int) -> Read | None:
    """The cycle, its template's version number and its open stage visit (None when finished),
    in one statement (pending changes of `session` flushed first); None when there is no such
    cycle. The objects are snapshots of the rows, in no session."""
    row = fetch_one(session, _READ, {"cycle_id": cycle_id})
    if row is None:
        return None
    end = len(_CYCLE_KEYS)
    cycle = _snapshot(CycleRecord, _CYCLE_KEYS, row[:end])
    visit = row[end + 1 :]
    stage = None if visit[0] is None else _snapshot(StageRecord, _VISIT_KEYS, visit)
    return cycle, int(row[end]), stage


def _snapshot(model: type[R], keys: tuple[str, ...], row: tuple[Any, ...]) -> R:
    """A transient `model` object holding `row` as its values, filled the way the ORM fills an
    object it loads (its `__dict__`), not through validation or change tracking."""
    record: R = inspect(model).class_manager.new_instance()
    values = dict(zip(keys, row, strict=True))
    record.__dict__.update(values)
    object.__setattr__(record, "__pydantic_fields_set__", set(values))
    return record
