"""A partner's "my steps": the stages their organisation leads or takes part in, open first.

    GET /dashboard/my-steps

Open steps are the current stages of active cycles where the organisation is lead or active,
with their deadline and badge; coming steps are later stages of those cycles it will carry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter
from sqlalchemy import and_
from sqlmodel import Session, col, select
from starlette.responses import Response

from cycle_engine.api.dashboard.access import Viewer
from cycle_engine.api.dashboard.queries import CycleRow, to_rows
from cycle_engine.api.dashboard.web import VisitDep
from cycle_engine.store.tables import ACTIVE, CycleRecord, StageRecord
from cycle_engine.store.tables.alliances import ParticipationRecord
from cycle_engine.store.templates import TemplateStore

ACTING = ("lead", "active")
LIMIT = 200


@dataclass(frozen=True, kw_only=True)
class MyStep:
    row: CycleRow
    level: str


@dataclass(frozen=True, kw_only=True)
class ComingStep:
    cycle: CycleRecord
    stage: str
    stage_title: str
    level: str


def my_steps(
    session: Session, store: TemplateStore, viewer: Viewer, now: datetime
) -> tuple[list[MyStep], list[ComingStep]]:
    """The organisation's open steps (soonest deadline first) and its coming ones."""
    open_rows = list(
        session.exec(
            select(CycleRecord, StageRecord, ParticipationRecord.level)
            .join(
                StageRecord,
                and_(
                    col(StageRecord.id) == CycleRecord.current_stage_id,
                    col(StageRecord.left_at).is_(None),
                ),
            )
            .join(
                ParticipationRecord,
                and_(
                    col(ParticipationRecord.cycle_id) == CycleRecord.id,
                    col(ParticipationRecord.stage) == CycleRecord.state,
                ),
            )
            .where(
                ParticipationRecord.organisation_id == viewer.organisation_id,
                col(ParticipationRecord.level).in_(ACTING),
                CycleRecord.status == ACTIVE,
            )
            .order_by(col(StageRecord.due_at))
            .limit(LIMIT)
        )
    )
    rows = to_rows(session, store, [(c, v) for c, v, _ in open_rows], now)
    mine = [
        MyStep(row=row, level=level) for row, (_, _, level) in zip(rows, open_rows, strict=True)
    ]
    coming: list[ComingStep] = []
    for cycle, level_row in session.exec(
        select(CycleRecord, ParticipationRecord)
        .join(ParticipationRecord, col(ParticipationRecord.cycle_id) == CycleRecord.id)
        .where(
            ParticipationRecord.organisation_id == viewer.organisation_id,
            col(ParticipationRecord.level).in_(ACTING),
            CycleRecord.status == ACTIVE,
            col(ParticipationRecord.stage) != CycleRecord.state,
        )
        .order_by(col(CycleRecord.id))
        .limit(LIMIT)
    ):
        spec = store.spec(session, cycle.template_id)
        keys = [s.key for s in spec.work_stages]
        current = cycle.resume_state or cycle.state
        if (
            level_row.stage in keys
            and current in keys
            and keys.index(level_row.stage) > keys.index(current)
        ):
            coming.append(
                ComingStep(
                    cycle=cycle,
                    stage=level_row.stage,
                    stage_title=spec.stage(level_row.stage).title,
                    level=level_row.level,
                )
            )
    return mine, coming


def register(router: APIRouter) -> None:
    @router.get("/my-steps")
    async def my_steps_page(visit: VisitDep) -> Response:
        viewer = visit.require_viewer()
        with visit.engine.db.read_session() as session:
            mine, coming = my_steps(session, visit.engine.templates.store, viewer, visit.now)
        return visit.page("my_steps.html", mine=mine, coming=coming)
