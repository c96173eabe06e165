"""Stalled and overdue stages: the flags with their reasons, and the queries managers read.

A stage visit is stalled when it had no activity for its stall period, when it is overdue past
its escalation point, or when its lead organisation has no active focal point (turnover). Each
reason is one `StallRecord`; activity clears them (`cleared_at`) and the turnover reason is
re-checked at once. `stalled()` reads the active flags through a partial index, `overdue()` the
open visits past their deadline through `ix_stage_visits_open_due`, both one query per call, and
both with the meaning every list of cycles uses (`cycles.listing`: at its deadline instant a stage
is already overdue), limited to a caller's reach when given one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from cycle_engine.alliances.participation import lacking_focal_point
from cycle_engine.alliances.reach import Reach
from cycle_engine.cycles.listing import (
    StallReason,
    flag_of_current_visit,
    open_current_visit,
    overdue_at,
)
from cycle_engine.store.prepared import Prepared, run
from cycle_engine.store.tables import ACTIVE, CycleRecord, StageRecord
from cycle_engine.store.tables.timers import (
    FIRED,
    NO_FOCAL_POINT,
    OVERDUE,
    StallRecord,
    TimerRecord,
)
from cycle_engine.store.tables.types import UTCDateTime

#: What `stages_lacking_focal_point` says when nobody leads a stage: not turnover.
_NO_LEAD = "no lead organisation"


@dataclass(frozen=True, kw_only=True)
class StalledStage:
    """A stalled stage visit and every reason it is stalled."""

    cycle_id: int
    title: str
    alliance_id: int | None
    stage: str
    stage_visit_id: int
    last_activity_at: datetime
    reasons: tuple[StallReason, ...] = field(default_factory=tuple)


@dataclass(frozen=True, kw_only=True)
class OverdueStage:
    """An open stage visit past its deadline."""

    cycle_id: int
    title: str
    alliance_id: int | None
    stage: str
    stage_visit_id: int
    due_at: datetime
    overdue_seconds: int
    overdue_reminders: int
    escalated: bool


def active_flags(session: Session, visit_id: int) -> list[StallRecord]:
    return list(
        session.exec(
            select(StallRecord).where(
                StallRecord.stage_visit_id == visit_id, col(StallRecord.cleared_at).is_(None)
            )
        )
    )


def set_flag(
    session: Session, visit: StageRecord, reason: str, detail: str, now: datetime
) -> StallRecord | None:
    """Flag `visit` stalled for `reason` unless already so flagged; returns the new flag."""
    assert visit.id is not None
    if any(flag.reason == reason for flag in active_flags(session, visit.id)):
        return None
    flag = StallRecord(
        cycle_id=visit.cycle_id,
        stage_visit_id=visit.id,
        stage=visit.stage,
        reason=reason,
        detail=detail[:500],
        since=now,
    )
    session.add(flag)
    return flag


_CLEAR = Prepared(
    update(StallRecord)
    .where(
        col(StallRecord.stage_visit_id) == bindparam("visit_id"),
        col(StallRecord.cleared_at).is_(None),
    )
    .values(cleared_at=bindparam("now", type_=UTCDateTime()))
)


def clear_flags(session: Session, visit_id: int, now: datetime) -> None:
    """Activity on the stage (or leaving it) clears every reason."""
    run(session, _CLEAR, {"visit_id": visit_id, "now": now})


def turnover_reason(session: Session, cycle: CycleRecord, stage: str) -> str | None:
    """Why the stage's lead organisation has no active focal point, or None."""
    if cycle.alliance_id is None or cycle.id is None:
        return None
    reason = lacking_focal_point(session, cycle.id, [stage]).get(stage)
    return None if reason is None or reason == _NO_LEAD else reason


def check_turnover(
    session: Session, cycle: CycleRecord, visit: StageRecord, now: datetime
) -> StallRecord | None:
    """Flag the visit for turnover when its lead lacks a focal point; returns a new flag."""
    reason = turnover_reason(session, cycle, visit.stage)
    if reason is None:
        return None
    return set_flag(session, visit, NO_FOCAL_POINT, reason, now)


def stalled(
    session: Session, alliance_id: int | None = None, reach: Reach | None = None
) -> list[StalledStage]:
    """Every stalled open stage visit (of one alliance, in reach) with its reasons, oldest first."""
    query = (
        select(StallRecord, StageRecord, CycleRecord)
        .join(CycleRecord, flag_of_current_visit())
        .join(StageRecord, open_current_visit())
        .where(CycleRecord.status == ACTIVE)
        .order_by(
            col(StallRecord.cycle_id), col(StallRecord.stage_visit_id), col(StallRecord.since)
        )
    )
    if alliance_id is not None:
        query = query.where(CycleRecord.alliance_id == alliance_id)
    if reach is not None:
        query = query.where(reach.cycles(alliance_id))
    grouped: dict[int, tuple[StageRecord, CycleRecord, list[StallReason]]] = {}
    for flag, visit, cycle in session.exec(query):
        entry = grouped.setdefault(flag.stage_visit_id, (visit, cycle, []))
        entry[2].append(StallReason(reason=flag.reason, detail=flag.detail, since=flag.since))
    result = []
    for visit_id, (visit, cycle, reasons) in grouped.items():
        assert cycle.id is not None
        result.append(
            StalledStage(
                cycle_id=cycle.id,
                title=cycle.title,
                alliance_id=cycle.alliance_id,
                stage=visit.stage,
                stage_visit_id=visit_id,
                last_activity_at=visit.last_activity_at,
                reasons=tuple(reasons),
            )
        )
    return sorted(result, key=lambda s: min(r.since for r in s.reasons))


def overdue(
    session: Session, now: datetime, alliance_id: int | None = None, reach: Reach | None = None
) -> list[OverdueStage]:
    """Every open stage visit of an active cycle past its deadline (of one alliance, in reach),
    most overdue first."""
    query = (
        select(StageRecord, CycleRecord)
        .join(CycleRecord, col(CycleRecord.current_stage_id) == StageRecord.id)
        .where(overdue_at(now))
        .order_by(col(StageRecord.due_at))
    )
    if alliance_id is not None:
        query = query.where(CycleRecord.alliance_id == alliance_id)
    if reach is not None:
        query = query.where(reach.cycles(alliance_id))
    rows = list(session.exec(query))
    visit_ids = [visit.id for visit, _ in rows]
    fired: dict[int, list[TimerRecord]] = {}
    if visit_ids:
        for timer in session.exec(
            select(TimerRecord).where(
                col(TimerRecord.stage_visit_id).in_(visit_ids),
                TimerRecord.kind == OVERDUE,
                TimerRecord.status == FIRED,
            )
        ):
            assert timer.stage_visit_id is not None
            fired.setdefault(timer.stage_visit_id, []).append(timer)
    result = []
    for visit, cycle in rows:
        assert visit.id is not None and visit.due_at is not None and cycle.id is not None
        series = fired.get(visit.id, [])
        result.append(
            OverdueStage(
                cycle_id=cycle.id,
                title=cycle.title,
                alliance_id=cycle.alliance_id,
                stage=visit.stage,
                stage_visit_id=visit.id,
                due_at=visit.due_at,
                overdue_seconds=int((now - visit.due_at).total_seconds()),
                overdue_reminders=sum(1 for t in series if not t.payload.get("escalate")),
                escalated=any(t.payload.get("escalate") for t in series),
            )
        )
    return result
