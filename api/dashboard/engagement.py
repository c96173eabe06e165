"""Partner engagement per organisation: reminders answered, steps overdue, staff turnover.

    GET /dashboard/alliances/{alliance_id}/engagement   (coordinators and managers)

"Reminders answered" counts, over the last ENGAGEMENT_WINDOW, the reminder-type emails sent to
an organisation's people and the actions they took from an email (acknowledge, done, more time,
snooze). "Steps overdue" are open, overdue stages of active cycles that the organisation leads.
Turnover is the alliance domain's (people who left in the last year over headcount).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter
from sqlalchemy import and_, func
from sqlmodel import Session, col, select
from starlette.responses import Response

from cycle_engine.alliances.people import turnover
from cycle_engine.api.dashboard.access import managed_alliance
from cycle_engine.api.dashboard.web import VisitDep
from cycle_engine.api.deps import IdPath
from cycle_engine.store.tables import ACTIVE, CycleRecord, StageRecord
from cycle_engine.store.tables.alliances import ParticipationRecord, PersonRecord
from cycle_engine.store.tables.outbox import SENT, ActionUseRecord, OutboxRecord

ENGAGEMENT_WINDOW = timedelta(days=90)
REMINDER_KINDS = ("reminder", "due_today", "overdue", "escalation", "stage_started")


@dataclass(frozen=True, kw_only=True)
class Engagement:
    organisation_id: int
    organisation: str
    reminders: int
    answered: int
    overdue_steps: int
    headcount: int
    left: int
    turnover_rate: float
    needing_focal_point: int

    @property
    def answer_rate(self) -> float | None:
        return self.answered / self.reminders if self.reminders else None


def _per_org(session: Session, query: Any) -> dict[int, int]:
    return {int(org): int(count) for org, count in session.exec(query)}


def engagement(session: Session, alliance_id: int, now: datetime) -> list[Engagement]:
    """One line per member organisation (see the module docstring for the figures)."""
    since = now - ENGAGEMENT_WINDOW
    reminders = _per_org(
        session,
        select(PersonRecord.organisation_id, func.count())
        .join(OutboxRecord, col(OutboxRecord.person_id) == PersonRecord.id)
        .join(CycleRecord, col(CycleRecord.id) == OutboxRecord.cycle_id)
        .where(
            CycleRecord.alliance_id == alliance_id,
            col(OutboxRecord.kind).in_(REMINDER_KINDS),
            OutboxRecord.status == SENT,
            col(OutboxRecord.sent_at) >= since,
        )
        .group_by(col(PersonRecord.organisation_id)),
    )
    answered = _per_org(
        session,
        select(PersonRecord.organisation_id, func.count())
        .join(ActionUseRecord, col(ActionUseRecord.person_id) == PersonRecord.id)
        .join(CycleRecord, col(CycleRecord.id) == ActionUseRecord.cycle_id)
        .where(CycleRecord.alliance_id == alliance_id, col(ActionUseRecord.used_at) >= since)
        .group_by(col(PersonRecord.organisation_id)),
    )
    overdue = _per_org(
        session,
        select(ParticipationRecord.organisation_id, func.count())
        .join(CycleRecord, col(CycleRecord.id) == ParticipationRecord.cycle_id)
        .join(
            StageRecord,
            and_(
                col(StageRecord.id) == CycleRecord.current_stage_id,
                col(StageRecord.stage) == ParticipationRecord.stage,
            ),
        )
        .where(
            CycleRecord.alliance_id == alliance_id,
            CycleRecord.status == ACTIVE,
            ParticipationRecord.level == "lead",
            col(StageRecord.left_at).is_(None),
            col(StageRecord.due_at) <= now,
        )
        .group_by(col(ParticipationRecord.organisation_id)),
    )
    year_ago = now.date() - timedelta(days=365)
    return [
        Engagement(
            organisation_id=t.organisation_id,
            organisation=t.organisation,
            reminders=reminders.get(t.organisation_id, 0),
            answered=answered.get(t.organisation_id, 0),
            overdue_steps=overdue.get(t.organisation_id, 0),
            headcount=t.headcount,
            left=t.left,
            turnover_rate=t.rate,
            needing_focal_point=t.stages_needing_focal_point,
        )
        for t in turnover(session, alliance_id, since=year_ago, until=now.date())
    ]


def register(router: APIRouter) -> None:
    @router.get("/alliances/{alliance_id}/engagement")
    async def engagement_page(visit: VisitDep, alliance_id: IdPath) -> Response:
        viewer = visit.require_viewer()
        with visit.engine.db.read_session() as session:
            alliance = managed_alliance(session, viewer, alliance_id)
            rows = engagement(session, alliance_id, visit.now)
        return visit.page(
            "engagement.html", alliance=alliance, rows=rows, window_days=ENGAGEMENT_WINDOW.days
        )
