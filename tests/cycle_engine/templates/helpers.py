"""Helpers of the template tests: edits of a template document (YAML in, YAML out), what a
cycle looks like in the database (stage, deadline, work plan, waiting timers) and what a
preview predicted, in the same shape, so a test compares them with one `==`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import yaml
from sqlmodel import col, select

from cycle_engine import CycleEngine
from cycle_engine.store.tables import CycleRecord, EventRecord, StageRecord
from cycle_engine.store.tables.alliances import ParticipationRecord, PlanRecord
from cycle_engine.store.tables.outbox import OutboxRecord
from cycle_engine.store.tables.timers import CLAIMED, PENDING, StallRecord, TimerRecord
from cycle_engine.templates.forecast import CycleForecast

Outcome = tuple[
    str,
    datetime | None,
    tuple[tuple[str, datetime, datetime], ...],
    tuple[tuple[str, str, datetime], ...],
]
Edit = Callable[[dict[str, Any]], None]


def edited(text: str, *edits: Edit, key: str | None = None) -> str:
    """`text` (a template) with each edit applied to its document, and a new key if given."""
    document = yaml.safe_load(text)
    for edit in edits:
        edit(document)
    if key is not None:
        document["key"] = key
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def duration(stage: str, value: str) -> Edit:
    def edit(document: dict[str, Any]) -> None:
        _stage(document, stage)["duration"] = value

    return edit


def stage_after(after: str, key: str, title: str, length: str, *, leaving: str) -> Edit:
    """A new stage `key` after `after`: `leaving` (the trigger out of `after`) now leads to it,
    and a new trigger `{key}_done` leads on to where `leaving` led."""

    def edit(document: dict[str, Any]) -> None:
        stages = document["stages"]
        index = next(i for i, s in enumerate(stages) if s["key"] == after)
        stages.insert(index + 1, {"key": key, "title": title, "duration": length})
        transition = next(t for t in document["transitions"] if t["trigger"] == leaving)
        onward = transition["to"]
        transition["to"] = key
        document["transitions"].append(
            {"trigger": f"{key}_done", "from": key, "to": onward, "roles": ["coordinator"]}
        )

    return edit


def renamed(old: str, new: str, title: str) -> Edit:
    def edit(document: dict[str, Any]) -> None:
        stage = _stage(document, old)
        stage["key"], stage["title"] = new, title
        if document["initial"] == old:
            document["initial"] = new
        for t in document["transitions"]:
            sources = t["from"] if isinstance(t["from"], list) else [t["from"]]
            t["from"] = [new if s == old else s for s in sources]
            if t["to"] == old:
                t["to"] = new

    return edit


def requires(trigger: str, guard: dict[str, Any]) -> Edit:
    def edit(document: dict[str, Any]) -> None:
        transition = next(t for t in document["transitions"] if t["trigger"] == trigger)
        transition.setdefault("requires", []).append(guard)

    return edit


def _stage(document: dict[str, Any], key: str) -> dict[str, Any]:
    return next(s for s in document["stages"] if s["key"] == key)


def predicted(forecast: CycleForecast) -> Outcome:
    """What the preview says the cycle will look like after apply."""
    assert forecast.stage_after is not None
    plan = tuple((p.stage, p.start, p.due) for p in forecast.plan_after or ())
    return (forecast.stage_after, forecast.due_after, plan, forecast.timers_after)


def observed(engine: CycleEngine, cycle_id: int) -> Outcome:
    """What the cycle looks like in the database: stage, deadline of the stage that counts,
    work plan, and the waiting timers of its open visit."""
    with engine.db.read_session() as session:
        cycle = session.get(CycleRecord, cycle_id)
        assert cycle is not None
        work = session.exec(
            select(StageRecord)
            .where(
                StageRecord.cycle_id == cycle_id,
                StageRecord.stage == (cycle.resume_state or cycle.state),
            )
            .order_by(col(StageRecord.visit).desc())
        ).first()
        plan = session.exec(
            select(PlanRecord)
            .where(PlanRecord.cycle_id == cycle_id)
            .order_by(col(PlanRecord.position))
        ).all()
        timers = session.exec(
            select(TimerRecord).where(
                TimerRecord.stage_visit_id == cycle.current_stage_id,
                col(TimerRecord.status).in_((PENDING, CLAIMED)),
            )
        ).all()
        return (
            cycle.state,
            work.due_at if work is not None else None,
            tuple((p.stage, p.planned_start, p.planned_due) for p in plan),
            tuple(sorted((t.kind, t.rule, t.due_at) for t in timers)),
        )


#: Tables a migration may touch; a preview must leave every one of them as it was.
WATCHED = (
    CycleRecord,
    StageRecord,
    EventRecord,
    TimerRecord,
    StallRecord,
    PlanRecord,
    ParticipationRecord,
    OutboxRecord,
)


def rows(engine: CycleEngine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables a migration may touch, by table, in id order."""
    with engine.db.read_session() as session:
        return {
            model.__tablename__: [  # type: ignore[attr-defined]
                tuple(sorted(row.model_dump(mode="json").items()))
                for row in session.exec(select(model).order_by(col(model.id)))  # type: ignore[attr-defined]
            ]
            for model in WATCHED
        }
