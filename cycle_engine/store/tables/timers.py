"""Durable timers and stall flags: the scheduler's whole state lives in these rows.

A timer is one future effect of a stage visit (a reminder, the deadline, one overdue reminder of
a series, a stall check) or of a person (a digest). Workers claim due rows with a lease, fire
each in its own transaction and mark it fired; `dedupe_key` is unique, so the same timer can
never exist twice. Claiming never rewrites a timer row (nearly 500 bytes, six indexes): it
works on `timer_queue`, a narrow due-queue with one row per open timer (when to look at it
next, and who holds its lease), kept in step with `timers` by triggers (revision
`0011_fast_path`), so "claim 100 due among 1,000,000 pending" is one index range scan and an
update of 100 short rows.

A stall flag says why a stage visit is stalled (no activity, overdue past its escalation point,
no focal point for a lead organisation); activity clears it by setting `cleared_at`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Integer, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from cycle_engine.store.tables.cycles import StageRecord
from cycle_engine.store.tables.types import JSONType, UTCDateTime

# Timer kinds.
REMINDER = "reminder"
DUE = "due"
OVERDUE = "overdue"
STALL = "stall"
DIGEST = "digest"
TIMER_KINDS = (REMINDER, DUE, OVERDUE, STALL, DIGEST)

# Timer statuses.
PENDING = "pending"
CLAIMED = "claimed"
FIRED = "fired"
CANCELLED = "cancelled"
DROPPED = "dropped"
TIMER_STATUSES = (PENDING, CLAIMED, FIRED, CANCELLED, DROPPED)

# Stall reasons.
NO_ACTIVITY = "no_activity"
OVERDUE_ESCALATED = "overdue_escalated"
NO_FOCAL_POINT = "no_focal_point"
STALL_REASONS = (NO_ACTIVITY, OVERDUE_ESCALATED, NO_FOCAL_POINT)


class TimerRecord(SQLModel, table=True):
    """One scheduled effect; `due_at` is when it fires (UTC, already held to working hours)."""

    __tablename__ = "timers"
    __table_args__ = (UniqueConstraint("dedupe_key", name="uq_timers_dedupe_key"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    cycle_id: int | None = Field(default=None, foreign_key="cycles.id", index=True)
    stage_visit_id: int | None = Field(default=None, foreign_key="stage_visits.id", index=True)
    stage: str | None = Field(default=None, max_length=100)
    rule: str = Field(max_length=100)
    occurrence: int = Field(default=1)
    person_id: int | None = Field(default=None, foreign_key="people.id")
    due_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default=PENDING, max_length=20)
    lease_owner: str | None = Field(default=None, max_length=200)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    late: bool = Field(default=False)
    fired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, max_length=1000)
    dedupe_key: str = Field(max_length=300)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)


class TimerQueueRecord(SQLModel, table=True):
    """An open (pending or leased) timer in the due-queue: the only row a claim writes.

    `due_at` is when to look at the timer next: its due time while pending, the end of its
    lease (or of a retry's back-off) while leased, so an expired lease falls due again by
    itself; `timer_due_at` is the timer's own due time. Triggers insert the row with the
    timer, move it with the timer's due time, and delete it when the timer fires, is
    cancelled or dropped (revisions `0011_fast_path`, `0017_timer_queue`).
    """

    __tablename__ = "timer_queue"
    __table_args__ = (
        Index("ix_timer_queue_due", "due_at", "timer_id"),
        Index(
            "ix_timer_queue_leased",
            "due_at",
            sqlite_where=text("lease_owner IS NOT NULL"),
            postgresql_where=text("lease_owner IS NOT NULL"),
        ),
    )

    timer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("timers.id", ondelete="CASCADE"), primary_key=True)
    )
    cycle_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("cycles.id"), nullable=True)
    )
    due_at: datetime = Field(sa_type=UTCDateTime)
    lease_owner: str | None = Field(default=None, max_length=200)
    #: The timer's own due time (its `timers.due_at`), so a claim never reads the wide row.
    timer_due_at: datetime = Field(sa_type=UTCDateTime)


class StallRecord(SQLModel, table=True):
    """One reason a stage visit is stalled; active while `cleared_at` is empty."""

    __tablename__ = "stall_flags"
    __table_args__ = (
        Index(
            "ix_stall_flags_active",
            "cycle_id",
            "stage_visit_id",
            sqlite_where=text("cleared_at IS NULL"),
            postgresql_where=text("cleared_at IS NULL"),
        ),
        # the stalled lists, longest stalled first: a page of them is an index range
        Index(
            "ix_stall_flags_active_since",
            "since",
            "cycle_id",
            sqlite_where=text("cleared_at IS NULL"),
            postgresql_where=text("cleared_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycles.id")
    stage_visit_id: int = Field(foreign_key="stage_visits.id", index=True)
    stage: str = Field(max_length=100)
    reason: str = Field(max_length=40)
    detail: str = Field(default="", max_length=500)
    since: datetime = Field(sa_type=UTCDateTime)
    cleared_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


#: Open stage visits by deadline (then cycle), for `overdue()` and the lists of cycles by
#: deadline (a page of them is an index range, in order); the core table gains only this index.
OPEN_VISITS_BY_DUE = Index(
    "ix_stage_visits_open_due",
    StageRecord.__table__.c.due_at,  # type: ignore[attr-defined]
    StageRecord.__table__.c.cycle_id,  # type: ignore[attr-defined]
    sqlite_where=text("left_at IS NULL"),
    postgresql_where=text("left_at IS NULL"),
)
