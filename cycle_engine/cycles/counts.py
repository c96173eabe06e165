"""An alliance's cycles counted from its counters, not by counting cycles.

The overview's figures (active, finished, overdue, stalled) for a manager who sees the whole
alliance, read from `alliance_counts` and `alliance_due_days` (kept by triggers in every
writing transaction, see `store.tables.counters`): one row, plus the days before today, plus
today's open visits already due (an index range of one day). The figures mean what the one
list of cycles means (`cycles.listing`): a stage is overdue at its deadline instant.

The on-time figure reads `alliance_closed_days` (kept by triggers too): the stage visits with a
deadline closed on each UTC day of the window, and how many by their deadline. Its window is
whole UTC days, from the day `since` falls on through today.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

from sqlalchemy import BindParameter, Integer, bindparam, func, select
from sqlmodel import Session

from cycle_engine.cycles.listing import OnTimeRecord
from cycle_engine.store.joins import driving_join
from cycle_engine.store.tables import CycleRecord, StageRecord
from cycle_engine.store.tables.counters import (
    AllianceClosedDayRecord,
    AllianceCountsRecord,
    AllianceDueDayRecord,
)
from cycle_engine.store.tables.types import UTCDateTime

_COUNTS = AllianceCountsRecord.__table__  # type: ignore[attr-defined]
_DAYS = AllianceDueDayRecord.__table__  # type: ignore[attr-defined]
_VISITS = StageRecord.__table__  # type: ignore[attr-defined]
_CYCLES = CycleRecord.__table__  # type: ignore[attr-defined]
_CLOSED = AllianceClosedDayRecord.__table__  # type: ignore[attr-defined]

_ALLIANCE: BindParameter[int] = bindparam("alliance_id", type_=Integer())
#: One statement: the alliance's counters row, the open visits due on earlier days, and the
#: open visits due today by now (through `ix_stage_visits_open_due`, read first).
_FIGURES = select(
    select(_COUNTS.c.active).where(_COUNTS.c.alliance_id == _ALLIANCE).scalar_subquery(),
    select(_COUNTS.c.finished).where(_COUNTS.c.alliance_id == _ALLIANCE).scalar_subquery(),
    select(_COUNTS.c.stalled).where(_COUNTS.c.alliance_id == _ALLIANCE).scalar_subquery(),
    select(func.sum(_DAYS.c.open_visits))
    .where(_DAYS.c.alliance_id == _ALLIANCE, _DAYS.c.day < bindparam("today"))
    .scalar_subquery(),
    select(func.count())
    .select_from(driving_join(_VISITS, _CYCLES, _CYCLES.c.id == _VISITS.c.cycle_id))
    .where(
        _VISITS.c.left_at.is_(None),
        _VISITS.c.due_at >= bindparam("day_start", type_=UTCDateTime()),
        _VISITS.c.due_at <= bindparam("now", type_=UTCDateTime()),
        _CYCLES.c.alliance_id == _ALLIANCE,
    )
    .scalar_subquery(),
)


@dataclass(frozen=True, kw_only=True)
class AllianceFigures:
    """How many of an alliance's cycles are active, finished, overdue and stalled."""

    active: int
    finished: int
    overdue: int
    stalled: int


def alliance_figures(session: Session, alliance_id: int, now: datetime) -> AllianceFigures:
    """The alliance's figures from its counters (one statement, O(days) rows read)."""
    now = now.astimezone(UTC)
    day_start = datetime.combine(now.date(), time(), UTC)
    active, finished, stalled, earlier, today = (
        session.connection()
        .execute(
            _FIGURES,
            {
                "alliance_id": alliance_id,
                "today": now.date().isoformat(),
                "day_start": day_start,
                "now": now,
            },
        )
        .one()
    )
    return AllianceFigures(
        active=int(active or 0),
        finished=int(finished or 0),
        overdue=int(earlier or 0) + int(today or 0),
        stalled=int(stalled or 0),
    )


#: The closed visits and those closed on time over the days of a window (its days' rows).
_ON_TIME = select(func.sum(_CLOSED.c.closed), func.sum(_CLOSED.c.on_time)).where(
    _CLOSED.c.alliance_id == _ALLIANCE, _CLOSED.c.day >= bindparam("since_day")
)


def alliance_on_time(session: Session, alliance_id: int, since: datetime) -> OnTimeRecord:
    """Stage visits with a deadline the alliance closed from `since`'s UTC day on, and how many
    of them by their deadline, from its counters (one row per day of the window)."""
    closed, on_time = (
        session.connection()
        .execute(
            _ON_TIME,
            {"alliance_id": alliance_id, "since_day": since.astimezone(UTC).date().isoformat()},
        )
        .one()
    )
    return OnTimeRecord(closed=int(closed or 0), on_time=int(on_time or 0))
