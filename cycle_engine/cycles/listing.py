"""The one list of cycles, and the one meaning of "overdue" and "stalled".

Every list of cycles (the API's, the dashboard's, the CLI's) is `cycles_query` with a
`CycleFilter`; the scheduler's overdue and stalled reports (`scheduler.stalled`) use the same
conditions, so a cycle is overdue or stalled in the same way wherever it is shown.

    overdue   an active cycle whose open stage visit has a deadline at or before now: at the
              deadline instant itself the stage is overdue, the same instant the scheduler's
              overdue timer falls due (`due_at <= now`)
    stalled   an active cycle whose open stage visit has an active stall flag (each flag is one
              reason: no activity, overdue past escalation, no focal point)

Lists ride the scheduler's indexes: the open visit through the cycle's `current_stage_id`, stall
flags through the partial `ix_stall_flags_active`. A page is one query, plus one for the flags of
the rows on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, case, exists, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from cycle_engine.alliances.reach import Reach
from cycle_engine.store.joins import driving_join
from cycle_engine.store.tables import ACTIVE, CycleRecord, StageRecord
from cycle_engine.store.tables.alliances import ParticipationRecord
from cycle_engine.store.tables.timers import StallRecord

#: How a list is ordered: by id, newest first, soonest deadline first, longest stalled first.
CycleOrder = Literal["id", "newest", "due", "stalled_since"]


@dataclass(frozen=True, kw_only=True)
class CycleFilter:
    """Filters for the list of cycles; None means any.

    `organisation_id` keeps the cycles that organisation takes part in (any stage, any level);
    `overdue` and `stalled` keep (True) or leave out (False) overdue or stalled cycles;
    `due_before` keeps cycles whose open stage is due at or before that time; `reach` keeps the
    cycles a caller may see.
    """

    state: str | None = None
    status: str | None = None
    template_key: str | None = None
    alliance_id: int | None = None
    cycle_id: int | None = None
    organisation_id: int | None = None
    overdue: bool | None = None
    stalled: bool | None = None
    due_before: datetime | None = None
    reach: Reach | None = None


@dataclass(frozen=True, kw_only=True)
class StallReason:
    """One reason a stage visit is stalled, and since when."""

    reason: str
    detail: str
    since: datetime


@dataclass(frozen=True, kw_only=True)
class ListedCycle:
    """A cycle as lists show it: its open stage visit, whether it is overdue, its stall reasons."""

    cycle: CycleRecord
    visit: StageRecord | None
    stage_title: str
    overdue: bool
    reasons: tuple[StallReason, ...] = ()

    @property
    def stalled(self) -> bool:
        return bool(self.reasons)

    def overdue_by(self, now: datetime) -> timedelta | None:
        """How long past its deadline the open stage is, when overdue."""
        if not self.overdue or self.visit is None or self.visit.due_at is None:
            return None
        return now - self.visit.due_at


def open_current_visit() -> ColumnElement[bool]:
    """Join condition: the cycle's current stage visit, while it is open."""
    return and_(
        col(StageRecord.id) == CycleRecord.current_stage_id, col(StageRecord.left_at).is_(None)
    )


def overdue_at(now: datetime) -> ColumnElement[bool]:
    """The one meaning of overdue, on a cycle joined to its current stage visit (`StageRecord`)."""
    return and_(
        col(CycleRecord.status) == ACTIVE,
        col(StageRecord.left_at).is_(None),
        col(StageRecord.due_at) <= now,
    )


def _not_overdue_at(now: datetime) -> ColumnElement[bool]:
    """`overdue_at` negated for a cycle outer-joined to its open visit (which may be missing)."""
    return or_(
        col(CycleRecord.status) != ACTIVE,
        col(StageRecord.id).is_(None),
        col(StageRecord.due_at).is_(None),
        col(StageRecord.due_at) > now,
    )


def flag_of_current_visit() -> ColumnElement[bool]:
    """A stall flag (`StallRecord`) still active on the cycle's current stage visit."""
    return and_(
        col(StallRecord.stage_visit_id) == CycleRecord.current_stage_id,
        col(StallRecord.cleared_at).is_(None),
    )


def stalled_now() -> ColumnElement[bool]:
    """The one meaning of stalled, on `CycleRecord`."""
    return and_(col(CycleRecord.status) == ACTIVE, exists().where(flag_of_current_visit()))


def _where(query: Any, filters: CycleFilter, now: datetime) -> Any:
    for column, value in (
        (CycleRecord.state, filters.state),
        (CycleRecord.status, filters.status),
        (CycleRecord.template_key, filters.template_key),
        (CycleRecord.alliance_id, filters.alliance_id),
        (CycleRecord.id, filters.cycle_id),
    ):
        if value is not None:
            query = query.where(col(column) == value)
    if filters.organisation_id is not None:
        taking_part = select(ParticipationRecord.cycle_id).where(
            ParticipationRecord.organisation_id == filters.organisation_id
        )
        query = query.where(col(CycleRecord.id).in_(taking_part))
    if filters.overdue is not None:
        query = query.where(overdue_at(now) if filters.overdue else _not_overdue_at(now))
    if filters.stalled is not None:
        query = query.where(stalled_now() if filters.stalled else ~stalled_now())
    if filters.due_before is not None:
        query = query.where(col(StageRecord.due_at) <= filters.due_before)
    if filters.reach is not None:
        query = query.where(filters.reach.cycles(filters.alliance_id))
    return query


def _ordered(query: Any, order: CycleOrder) -> Any:
    if order == "newest":
        return query.order_by(col(CycleRecord.id).desc())
    if order == "due":
        return query.order_by(col(StageRecord.due_at), col(CycleRecord.id))
    if order == "stalled_since":
        first_flag = (
            select(func.min(StallRecord.since)).where(flag_of_current_visit()).scalar_subquery()
        )
        return query.order_by(first_flag, col(CycleRecord.id))
    return query.order_by(col(CycleRecord.id))


def cycles_query(filters: CycleFilter, now: datetime, order: CycleOrder = "id") -> Any:
    """SELECT (cycle, open visit or None, overdue) for the filtered list, in `order`.

    Two lists run from an index instead of from every cycle of the alliance, so a short page
    of them reads about that many rows however many cycles there are: by deadline, when every
    row has an open visit with a deadline (overdue, or due before some time), from the open
    visits' deadline index; longest stalled first, of stalled cycles, from the active stall
    flags' index (each cycle by its first active flag). Rows and order are the same.

    Both reach the cycle from its open visit by primary key (`cycles.id = cycle_id`), never
    by also matching `current_stage_id`: an open visit is its cycle's current one (a move closes
    the visit it leaves before it opens the next, a finish closes the last), and PostgreSQL
    multiplies the two conditions' selectivities, estimates one row where there are 333,333
    (1,000,000 cycles) and hash-joins both tables whole instead of walking the index.
    """
    overdue = case((overdue_at(now), True), else_=False).label("overdue")
    if order == "due" and (filters.overdue is True or filters.due_before is not None):
        query = (
            select(CycleRecord, StageRecord, overdue)
            .select_from(
                driving_join(StageRecord, CycleRecord, col(CycleRecord.id) == StageRecord.cycle_id)
            )
            .where(col(StageRecord.left_at).is_(None))
        )
        if filters.overdue is False and filters.status == ACTIVE:  # the same rows, said so
            query = query.where(col(StageRecord.due_at) > now)  # the index range starts now
        return _where(query, filters, now).order_by(
            col(StageRecord.due_at), col(StageRecord.cycle_id)
        )
    if order == "stalled_since" and filters.stalled is True:
        first, earlier = aliased(StallRecord), aliased(StallRecord)
        query = (
            select(CycleRecord, StageRecord, overdue)
            .select_from(
                driving_join(
                    driving_join(first, StageRecord, col(StageRecord.id) == first.stage_visit_id),
                    CycleRecord,
                    col(CycleRecord.id) == StageRecord.cycle_id,
                )
            )
            .where(
                col(first.cleared_at).is_(None),
                col(StageRecord.left_at).is_(None),
                ~exists()  # the visit's first active flag only: one row per cycle
                .where(
                    col(earlier.stage_visit_id) == first.stage_visit_id,
                    col(earlier.cleared_at).is_(None),
                    or_(
                        col(earlier.since) < first.since,
                        and_(col(earlier.since) == first.since, col(earlier.id) < first.id),
                    ),
                )
                .correlate(first),
            )
        )
        return _where(query, filters, now).order_by(col(first.since), col(first.cycle_id))
    query = select(CycleRecord, StageRecord, overdue).outerjoin(StageRecord, open_current_visit())
    return _ordered(_where(query, filters, now), order)


def count_query(filters: CycleFilter, now: datetime) -> Any:
    """SELECT the number of cycles the filtered list holds."""
    query = (
        select(func.count()).select_from(CycleRecord).outerjoin(StageRecord, open_current_visit())
    )
    return _where(query, filters, now)


def reasons_of(session: Session, visit_ids: Sequence[int]) -> dict[int, list[StallReason]]:
    """Active stall flags of the given stage visits, oldest first (one query)."""
    if not visit_ids:
        return {}
    reasons: dict[int, list[StallReason]] = {}
    for flag in session.exec(
        select(StallRecord)
        .where(
            col(StallRecord.stage_visit_id).in_(list(visit_ids)),
            col(StallRecord.cleared_at).is_(None),
        )
        .order_by(col(StallRecord.since))
    ):
        reasons.setdefault(flag.stage_visit_id, []).append(
            StallReason(reason=flag.reason, detail=flag.detail, since=flag.since)
        )
    return reasons


def listed(
    session: Session,
    rows: Sequence[tuple[CycleRecord, StageRecord | None, bool]],
    titles: dict[tuple[int, str], str],
) -> list[ListedCycle]:
    """Rows of `cycles_query` with their stall reasons and stage titles (one more query)."""
    reasons = reasons_of(session, [v.id for _, v, _ in rows if v is not None and v.id])
    return [
        ListedCycle(
            cycle=cycle,
            visit=visit,
            stage_title=titles.get((cycle.template_id, cycle.state), cycle.state),
            overdue=bool(overdue),
            reasons=tuple(reasons.get(visit.id, ())) if visit is not None and visit.id else (),
        )
        for cycle, visit, overdue in rows
    ]


@dataclass(frozen=True, kw_only=True)
class OnTimeRecord:
    """Stage visits closed since some time, and how many of them closed by their deadline."""

    closed: int
    on_time: int

    @property
    def rate(self) -> float | None:
        return self.on_time / self.closed if self.closed else None


def on_time_query(
    since: datetime, alliance_id: int | None = None, reach: Reach | None = None
) -> Any:
    """SELECT (closed visits with a deadline left since `since`, those left by their deadline)."""
    query = (
        select(
            func.count(),
            func.sum(case((col(StageRecord.left_at) <= StageRecord.due_at, 1), else_=0)),
        )
        .select_from(StageRecord)
        .join(CycleRecord, col(CycleRecord.id) == StageRecord.cycle_id)
        .where(col(StageRecord.left_at) >= since, col(StageRecord.due_at).is_not(None))
    )
    if alliance_id is not None:
        query = query.where(CycleRecord.alliance_id == alliance_id)
    if reach is not None:
        query = query.where(reach.cycles(alliance_id))
    return query
