"""The dashboard's read queries, written to stay fast with 100,000 cycles in the database.

Every list is one page (LIMIT/OFFSET on an indexed order) plus one query for the flags of the
rows on that page; counts ride the same indexes the scheduler keeps (`ix_stage_visits_open_due`
for deadlines, the partial `ix_stall_flags_active` for stall flags). A cycle's badge follows the
scheduler's meaning: overdue when its open stage visit is past its deadline, stalled when that
visit has active stall flags (each with its reason), on time otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func
from sqlmodel import Session, col, select

from cycle_engine.api.dashboard.access import Viewer
from cycle_engine.store.tables import ACTIVE, FINISHED, CycleRecord, StageRecord
from cycle_engine.store.tables.timers import StallRecord
from cycle_engine.store.templates import TemplateStore

PER_PAGE = 50
ON_TIME_WINDOW = timedelta(days=90)
UPCOMING_WINDOW = timedelta(days=14)
REASON_TITLES = {
    "no_activity": "No activity",
    "overdue_escalated": "Overdue past escalation",
    "no_focal_point": "No focal point",
}
FLAGS = ("overdue", "stalled", "on_time")
STATUSES = ("active", "finished", "all")


@dataclass(frozen=True, kw_only=True)
class Flag:
    reason: str
    detail: str
    since: datetime

    @property
    def title(self) -> str:
        return REASON_TITLES.get(self.reason, self.reason.replace("_", " ").capitalize())


@dataclass(frozen=True, kw_only=True)
class CycleRow:
    """A cycle as a list shows it: its open stage visit, its badge and why."""

    cycle: CycleRecord
    visit: StageRecord | None
    stage_title: str
    now: datetime
    flags: tuple[Flag, ...] = ()

    @property
    def overdue_by(self) -> timedelta | None:
        visit = self.visit
        if (
            self.cycle.status != ACTIVE
            or visit is None
            or visit.left_at is not None
            or visit.due_at is None
            or visit.due_at > self.now
        ):
            return None
        return self.now - visit.due_at

    @property
    def badges(self) -> list[str]:
        if self.cycle.status == FINISHED:
            return ["finished"]
        badges = []
        if self.overdue_by is not None:
            badges.append("overdue")
        if self.flags:
            badges.append("stalled")
        return badges or ["on time"]


@dataclass(frozen=True, kw_only=True)
class Page:
    rows: list[CycleRow]
    page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.page > 1


@dataclass(frozen=True, kw_only=True)
class ListFilters:
    status: str = "active"
    flag: str | None = None
    stage: str | None = None
    template: str | None = None

    def query(self, **changes: Any) -> dict[str, str]:
        values = {
            "status": self.status,
            "flag": self.flag,
            "stage": self.stage,
            "template": self.template,
            **changes,
        }
        return {k: str(v) for k, v in values.items() if v}


@dataclass(kw_only=True)
class Overview:
    active: int = 0
    finished: int = 0
    overdue: int = 0
    stalled: int = 0
    on_time_rate: float | None = None
    closed_visits: int = 0
    upcoming: list[CycleRow] = field(default_factory=list)


def scoped(query: Any, viewer: Viewer, alliance_id: int) -> Any:
    """Limit a CycleRecord query to one alliance, and to a partner's own cycles."""
    query = query.where(CycleRecord.alliance_id == alliance_id)
    return query if viewer.manages(alliance_id) else viewer.scope_cycles(query)


def _open_current() -> Any:
    return and_(
        col(StageRecord.id) == CycleRecord.current_stage_id, col(StageRecord.left_at).is_(None)
    )


def _has_active_flag() -> Any:
    return exists().where(
        col(StallRecord.stage_visit_id) == CycleRecord.current_stage_id,
        col(StallRecord.cleared_at).is_(None),
    )


def stage_titles(
    session: Session, store: TemplateStore, template_ids: Sequence[int]
) -> dict[tuple[int, str], str]:
    titles: dict[tuple[int, str], str] = {}
    for template_id in set(template_ids):
        for stage in store.spec(session, template_id).stages:
            titles[(template_id, stage.key)] = stage.title
    return titles


def flags_for(session: Session, visit_ids: Sequence[int]) -> dict[int, list[Flag]]:
    """Active stall flags of the given stage visits, oldest first."""
    if not visit_ids:
        return {}
    flags: dict[int, list[Flag]] = {}
    for record in session.exec(
        select(StallRecord)
        .where(
            col(StallRecord.stage_visit_id).in_(list(visit_ids)),
            col(StallRecord.cleared_at).is_(None),
        )
        .order_by(col(StallRecord.since))
    ):
        flags.setdefault(record.stage_visit_id, []).append(
            Flag(reason=record.reason, detail=record.detail, since=record.since)
        )
    return flags


def to_rows(
    session: Session, store: TemplateStore, pairs: Sequence[Any], now: datetime
) -> list[CycleRow]:
    """(cycle, open visit or None) pairs as rows with titles and flags (two queries)."""
    titles = stage_titles(session, store, [c.template_id for c, _ in pairs])
    flags = flags_for(session, [v.id for _, v in pairs if v is not None and v.id is not None])
    return [
        CycleRow(
            cycle=cycle,
            visit=visit,
            now=now,
            stage_title=titles.get((cycle.template_id, cycle.state), cycle.state),
            flags=tuple(flags.get(visit.id, [])) if visit is not None and visit.id else (),
        )
        for cycle, visit in pairs
    ]


def list_query(viewer: Viewer, alliance_id: int, filters: ListFilters, now: datetime) -> Any:
    """The cycle list's SELECT (also used by the EXPLAIN test): newest cycles first."""
    query = scoped(
        select(CycleRecord, StageRecord).outerjoin(StageRecord, _open_current()),
        viewer,
        alliance_id,
    )
    if filters.status in (ACTIVE, FINISHED):
        query = query.where(CycleRecord.status == filters.status)
    if filters.stage:
        query = query.where(CycleRecord.state == filters.stage)
    if filters.template:
        query = query.where(CycleRecord.template_key == filters.template)
    overdue = and_(col(CycleRecord.status) == ACTIVE, col(StageRecord.due_at) <= now)
    if filters.flag == "overdue":
        query = query.where(overdue)
    elif filters.flag == "stalled":
        query = query.where(CycleRecord.status == ACTIVE, _has_active_flag())
    elif filters.flag == "on_time":
        query = query.where(CycleRecord.status == ACTIVE, ~_has_active_flag(), ~overdue)
    return query.order_by(col(CycleRecord.id).desc())


def list_cycles(
    session: Session,
    store: TemplateStore,
    viewer: Viewer,
    alliance_id: int,
    filters: ListFilters,
    now: datetime,
    page: int = 1,
) -> Page:
    """One page of the alliance's cycles (as far as the viewer may see them)."""
    query = list_query(viewer, alliance_id, filters, now)
    pairs = list(session.exec(query.offset((page - 1) * PER_PAGE).limit(PER_PAGE + 1)))
    return Page(
        rows=to_rows(session, store, pairs[:PER_PAGE], now),
        page=page,
        has_next=len(pairs) > PER_PAGE,
    )


def _count(session: Session, query: Any) -> int:
    return int(session.exec(query).one())


def overview(
    session: Session, store: TemplateStore, viewer: Viewer, alliance_id: int, now: datetime
) -> Overview:
    """The overview's figures: cycles by status, overdue and stalled, on-time rate, deadlines."""
    result = Overview()
    for status, count in session.exec(
        scoped(select(CycleRecord.status, func.count()), viewer, alliance_id).group_by(
            col(CycleRecord.status)
        )
    ):
        if status == ACTIVE:
            result.active = int(count)
        elif status == FINISHED:
            result.finished = int(count)
    result.overdue = _count(
        session,
        scoped(
            select(func.count())
            .select_from(StageRecord)
            .join(CycleRecord, col(CycleRecord.current_stage_id) == StageRecord.id)
            .where(
                col(StageRecord.left_at).is_(None),
                col(StageRecord.due_at) <= now,
                CycleRecord.status == ACTIVE,
            ),
            viewer,
            alliance_id,
        ),
    )
    result.stalled = _count(
        session,
        scoped(
            select(func.count(func.distinct(StallRecord.cycle_id)))
            .select_from(StallRecord)
            .join(CycleRecord, col(CycleRecord.current_stage_id) == StallRecord.stage_visit_id)
            .where(col(StallRecord.cleared_at).is_(None), CycleRecord.status == ACTIVE),
            viewer,
            alliance_id,
        ),
    )
    closed, on_time = session.exec(
        scoped(
            select(
                func.count(),
                func.sum(case((col(StageRecord.left_at) <= StageRecord.due_at, 1), else_=0)),
            )
            .select_from(StageRecord)
            .join(CycleRecord, col(CycleRecord.id) == StageRecord.cycle_id)
            .where(
                col(StageRecord.left_at) >= now - ON_TIME_WINDOW,
                col(StageRecord.due_at).is_not(None),
            ),
            viewer,
            alliance_id,
        )
    ).one()
    result.closed_visits = int(closed or 0)
    result.on_time_rate = (int(on_time or 0) / closed) if closed else None
    upcoming = list(
        session.exec(
            scoped(
                select(CycleRecord, StageRecord)
                .join(StageRecord, col(CycleRecord.current_stage_id) == StageRecord.id)
                .where(
                    col(StageRecord.left_at).is_(None),
                    col(StageRecord.due_at) > now,
                    col(StageRecord.due_at) <= now + UPCOMING_WINDOW,
                    CycleRecord.status == ACTIVE,
                )
                .order_by(col(StageRecord.due_at))
                .limit(8),
                viewer,
                alliance_id,
            )
        )
    )
    result.upcoming = to_rows(session, store, upcoming, now)
    return result


def overdue_rows(
    session: Session,
    store: TemplateStore,
    viewer: Viewer,
    alliance_id: int,
    now: datetime,
    limit: int = 6,
) -> list[CycleRow]:
    """The most overdue active cycles (oldest deadline first), through the open-due index."""
    pairs = list(
        session.exec(
            scoped(
                select(CycleRecord, StageRecord)
                .join(StageRecord, col(CycleRecord.current_stage_id) == StageRecord.id)
                .where(
                    col(StageRecord.left_at).is_(None),
                    col(StageRecord.due_at) <= now,
                    CycleRecord.status == ACTIVE,
                )
                .order_by(col(StageRecord.due_at))
                .limit(limit),
                viewer,
                alliance_id,
            )
        )
    )
    return to_rows(session, store, pairs, now)


def stalled_rows(
    session: Session,
    store: TemplateStore,
    viewer: Viewer,
    alliance_id: int,
    now: datetime,
    page: int = 1,
) -> Page:
    """Active cycles whose open stage is stalled, longest stalled first, one page."""
    first_flag = (
        select(func.min(StallRecord.since))
        .where(
            StallRecord.stage_visit_id == CycleRecord.current_stage_id,
            col(StallRecord.cleared_at).is_(None),
        )
        .scalar_subquery()
    )
    query = scoped(
        select(CycleRecord, StageRecord)
        .join(StageRecord, _open_current())
        .where(CycleRecord.status == ACTIVE, _has_active_flag()),
        viewer,
        alliance_id,
    ).order_by(first_flag, col(CycleRecord.id))
    pairs = list(session.exec(query.offset((page - 1) * PER_PAGE).limit(PER_PAGE + 1)))
    return Page(
        rows=to_rows(session, store, pairs[:PER_PAGE], now),
        page=page,
        has_next=len(pairs) > PER_PAGE,
    )
