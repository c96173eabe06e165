"""Partner engagement per organisation of an alliance: reminders answered, steps overdue, turnover.

"Reminders answered" counts, over a window, the reminder-type emails sent to an organisation's
people and the actions they took from an email (acknowledge, done, more time, snooze). "Steps
overdue" are the open stages of active cycles that the organisation leads and that are overdue in
the one meaning every list uses (`cycles.listing`). Turnover is the alliance domain's (people who
left in the last year over headcount).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func
from sqlmodel import Session, col, select

from cycle_engine.alliances.people import turnover
from cycle_engine.cycles.listing import overdue_at
from cycle_engine.store.tables import CycleRecord, StageRecord
from cycle_engine.store.tables.alliances import ParticipationRecord, PersonRecord
from cycle_engine.store.tables.outbox import SENT, ActionUseRecord, OutboxRecord

#: Email kinds that ask a partner to do something (what "reminders answered" counts).
REMINDER_KINDS = ("reminder", "due_today", "overdue", "escalation", "stage_started")


@dataclass(frozen=True, kw_only=True)
class Engagement:
    """How one member organisation answers, carries and keeps its people."""

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


def _per_organisation(session: Session, query: Any) -> dict[int, int]:
    return {int(org): int(count) for org, count in session.exec(query)}


def engagement(
    session: Session, alliance_id: int, now: datetime, window: timedelta
) -> list[Engagement]:
    """One line per member organisation of the alliance (see the module docstring)."""
    since = now - window
    reminders = _per_organisation(
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
    answered = _per_organisation(
        session,
        select(PersonRecord.organisation_id, func.count())
        .join(ActionUseRecord, col(ActionUseRecord.person_id) == PersonRecord.id)
        .join(CycleRecord, col(CycleRecord.id) == ActionUseRecord.cycle_id)
        .where(CycleRecord.alliance_id == alliance_id, col(ActionUseRecord.used_at) >= since)
        .group_by(col(PersonRecord.organisation_id)),
    )
    overdue = _per_organisation(
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
            ParticipationRecord.level == "lead",
            overdue_at(now),
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
