"""Per-alliance counters, so the dashboard's overview costs O(alliances), not O(cycles).

`alliance_counts` holds, per alliance, how many cycles are active and finished and how many
open stage visits carry at least one active stall flag; `alliance_due_days` how many open stage
visits fall due on each UTC day. Database triggers (revision `0011_fast_path`) keep both in
step with `cycles`, `stage_visits` and `stall_flags` inside the transaction that changes them,
whatever code path writes those rows (a fire, a timer, a due-date move, an import). Overdue
is "due at or before now", which moves with the clock, so it is read as the open visits of every
day before today plus today's visits due by now (an index range of one day).
`alliance_closed_days` counts the stage visits closed each UTC day and those closed by their
deadline (revision `0016_dashboard_counters`), so the on-time figure reads the days of its
window, not every closed visit.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel


class AllianceCountsRecord(SQLModel, table=True):
    """One alliance's cycles by status, and its stalled stage visits (maintained by triggers)."""

    __tablename__ = "alliance_counts"

    alliance_id: int = Field(
        sa_column=Column(Integer, ForeignKey("alliances.id", ondelete="CASCADE"), primary_key=True)
    )
    active: int = Field(default=0)
    finished: int = Field(default=0)
    stalled: int = Field(default=0)


class AllianceDueDayRecord(SQLModel, table=True):
    """How many open stage visits of an alliance fall due on one UTC day (`YYYY-MM-DD`)."""

    __tablename__ = "alliance_due_days"

    alliance_id: int = Field(
        sa_column=Column(Integer, ForeignKey("alliances.id", ondelete="CASCADE"), primary_key=True)
    )
    day: str = Field(primary_key=True, max_length=10)
    open_visits: int = Field(default=0)


class AllianceClosedDayRecord(SQLModel, table=True):
    """How many stage visits with a deadline an alliance closed on one UTC day (`YYYY-MM-DD`),
    and how many of them by their deadline (triggers of revision `0016_dashboard_counters`)."""

    __tablename__ = "alliance_closed_days"

    alliance_id: int = Field(
        sa_column=Column(Integer, ForeignKey("alliances.id", ondelete="CASCADE"), primary_key=True)
    )
    day: str = Field(primary_key=True, max_length=10)
    closed: int = Field(default=0)
    on_time: int = Field(default=0)
