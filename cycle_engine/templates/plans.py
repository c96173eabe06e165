"""Migration plans: which version running cycles move to, which cycles (every running cycle on a
version or on any version of a key, or chosen ones), how old stages map to new ones and what
happens to the dates of stages not entered yet.

A plan is stored (`TemplateMigrationRecord`) so the API and the dashboard can create it, preview
it and apply it in separate requests. Its scope is one alliance (whose coordinators made it), or
every alliance for an administrator. Creating a plan checks everything that does not depend on
the cycles: the target is published and in scope, each mapping names a stage of the versions it
maps from and of the target, each chosen cycle exists in scope. What depends on each cycle is
the preview's (`templates.forecast`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, true
from sqlmodel import Session, col, select

from cycle_engine.actors import Actor
from cycle_engine.alliances.reach import Reach
from cycle_engine.errors import CycleNotFound, InvalidInput, TemplateNotFound
from cycle_engine.store.tables import ACTIVE, CycleRecord, TemplateRecord
from cycle_engine.store.tables.templates import (
    RETIRED,
    UNENTERED_RULES,
    TemplateMigrationRecord,
)
from cycle_engine.store.templates import TemplateStore
from cycle_engine.templates import ownership
from cycle_engine.templates.deadlines import MigrationRule

MAX_CYCLES = 10_000
MAX_MAPPINGS = 200


@dataclass(frozen=True, kw_only=True)
class MigrationPlan:
    """A stored plan, with its target's key and version and what its last preview showed."""

    id: int
    alliance_id: int | None
    target_id: int
    target_key: str
    target_version: int
    source_key: str
    source_version: int | None
    cycle_ids: tuple[int, ...]
    stage_map: dict[str, str]
    unentered: str
    status: str
    created_by: str
    created_at: datetime
    previewed_at: datetime | None
    preview_versions: dict[int, int]
    applied_at: datetime | None
    applied_by: str | None
    report: dict[str, Any]

    @property
    def target(self) -> str:
        return f"{self.target_key} v{self.target_version}"

    @property
    def rule(self) -> MigrationRule:
        return MigrationRule(stage_map=dict(self.stage_map), unentered=self.unentered)

    @property
    def selection(self) -> str:
        """Which cycles the plan moves, in words."""
        if self.cycle_ids:
            return "cycles " + ", ".join(str(i) for i in self.cycle_ids)
        version = "any version" if self.source_version is None else f"v{self.source_version}"
        where = f" of alliance {self.alliance_id}" if self.alliance_id is not None else ""
        return f"every running cycle{where} on {self.source_key} ({version})"


def plan_of(session: Session, record: TemplateMigrationRecord) -> MigrationPlan:
    assert record.id is not None
    target = session.get(TemplateRecord, record.template_id)
    assert target is not None
    source = (
        session.get(TemplateRecord, record.source_template_id)
        if record.source_template_id is not None
        else None
    )
    return MigrationPlan(
        id=record.id,
        alliance_id=record.alliance_id,
        target_id=record.template_id,
        target_key=target.key,
        target_version=target.version,
        source_key=record.source_key,
        source_version=source.version if source is not None else None,
        cycle_ids=tuple(record.cycle_ids),
        stage_map=dict(record.stage_map),
        unentered=record.unentered,
        status=record.status,
        created_by=record.created_by,
        created_at=record.created_at,
        previewed_at=record.previewed_at,
        preview_versions={int(k): int(v) for k, v in record.preview_versions.items()},
        applied_at=record.applied_at,
        applied_by=record.applied_by,
        report=dict(record.report),
    )


def new_plan(
    session: Session,
    store: TemplateStore,
    *,
    target: TemplateRecord,
    alliance_id: int | None,
    source_key: str | None,
    source_version: int | None,
    cycle_ids: Sequence[int],
    stage_map: Mapping[str, str] | None,
    unentered: str,
    actor: Actor,
    reach: Reach | None,
    now: datetime,
) -> TemplateMigrationRecord:
    """Check and store a plan (the caller checked who may make it); see the module docstring.

    Raises InvalidInput (naming the field), TemplateNotFound, CycleNotFound.
    """
    assert target.id is not None
    if unentered not in UNENTERED_RULES:
        raise InvalidInput("unentered", f"must be replan or keep, got {unentered!r}")
    if target.status == RETIRED:
        raise InvalidInput(
            "to_version", f"{target.label} is retired; plans move cycles to a published version"
        )
    if len(cycle_ids) > MAX_CYCLES:
        raise InvalidInput("cycle_ids", f"at most {MAX_CYCLES} cycles per plan")
    mapping = dict(stage_map or {})
    if len(mapping) > MAX_MAPPINGS:
        raise InvalidInput("stage_map", f"at most {MAX_MAPPINGS} mappings")
    source_template_id = None
    sources: set[int | None]
    if cycle_ids:
        sources = set(_chosen_templates(session, cycle_ids, alliance_id))
        source_key = source_key or target.key
    else:
        source_key = source_key or target.key
        if source_version is not None:
            source = ownership.find(
                session, source_key, source_version, alliance_id=alliance_id, reach=reach
            )
            source_template_id = source.id
            sources = {source.id} if source.id is not None else set()
        else:
            sources = set(
                session.exec(
                    select(TemplateRecord.id).where(
                        TemplateRecord.key == source_key, _in_scope(alliance_id)
                    )
                ).all()
            ) - {None}
            if not sources:
                raise TemplateNotFound(source_key)
    _check_mapping(session, store, mapping, target, {s for s in sources if s is not None})
    record = TemplateMigrationRecord(
        alliance_id=alliance_id,
        template_id=target.id,
        source_key=source_key,
        source_template_id=source_template_id,
        cycle_ids=sorted(set(cycle_ids)),
        stage_map=mapping,
        unentered=unentered,
        created_by=actor.name[:200],
        created_at=now,
    )
    session.add(record)
    session.flush()
    return record


def selected_cycles(session: Session, record: TemplateMigrationRecord) -> list[CycleRecord]:
    """The cycles a plan moves now: the chosen ones, or the running cycles on its source."""
    query = select(CycleRecord)
    if record.cycle_ids:
        query = query.where(col(CycleRecord.id).in_(record.cycle_ids))
    elif record.source_template_id is not None:
        query = query.where(
            CycleRecord.status == ACTIVE, CycleRecord.template_id == record.source_template_id
        )
    else:
        sources = select(TemplateRecord.id).where(
            TemplateRecord.key == record.source_key, _in_scope(record.alliance_id)
        )
        query = query.where(CycleRecord.status == ACTIVE, col(CycleRecord.template_id).in_(sources))
    if record.alliance_id is not None:
        query = query.where(CycleRecord.alliance_id == record.alliance_id)
    return list(session.exec(query.order_by(col(CycleRecord.id))))


def _in_scope(alliance_id: int | None) -> ColumnElement[bool]:
    """Templates a plan of `alliance_id` may move cycles from (every one, for no alliance)."""
    if alliance_id is None:
        return true()
    column = col(TemplateRecord.alliance_id)
    return or_(column.is_(None), column == alliance_id)


def _chosen_templates(
    session: Session, cycle_ids: Iterable[int], alliance_id: int | None
) -> set[int]:
    """The template versions the chosen cycles run on; raises CycleNotFound for a cycle that
    does not exist or is outside the plan's alliance."""
    wanted = sorted(set(cycle_ids))
    cycles = {
        c.id: c
        for c in session.exec(select(CycleRecord).where(col(CycleRecord.id).in_(wanted))).all()
    }
    for cycle_id in wanted:
        cycle = cycles.get(cycle_id)
        if cycle is None or (alliance_id is not None and cycle.alliance_id != alliance_id):
            raise CycleNotFound(cycle_id)
    return {c.template_id for c in cycles.values()}


def _check_mapping(
    session: Session,
    store: TemplateStore,
    mapping: Mapping[str, str],
    target: TemplateRecord,
    sources: set[int],
) -> None:
    assert target.id is not None
    after = store.spec(session, target.id)
    before = [store.spec(session, source) for source in sorted(sources)]
    known = {stage.key for spec in before for stage in spec.stages}
    for old, new in mapping.items():
        if not isinstance(old, str) or not isinstance(new, str):
            raise InvalidInput("stage_map", "map stage keys to stage keys (old: new)")
        if not after.has_stage(new):
            stages = ", ".join(s.key for s in after.stages)
            raise InvalidInput(
                "stage_map",
                f"{new!r} is not a stage of {target.label} (mapping {old}: {new}; its stages: "
                f"{stages})",
            )
        if before and old not in known:
            raise InvalidInput(
                "stage_map",
                f"{old!r} is not a stage of the versions the cycles run on (mapping {old}: {new})",
            )
