"""Running cycles, their stage visits, their append-only event history and idempotency keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from cycle_engine.store.tables.types import JSONType, UTCDateTime

ACTIVE = "active"
FINISHED = "finished"


class CycleRecord(SQLModel, table=True):
    """A learning cycle: which template version it runs, where it is, and its version counter."""

    __tablename__ = "cycles"
    __table_args__ = (Index("ix_cycles_status_state", "status", "state"),)

    id: int | None = Field(default=None, primary_key=True)
    template_id: int = Field(foreign_key="templates.id", index=True)
    template_key: str = Field(index=True, max_length=100)
    title: str = Field(max_length=300)
    state: str = Field(max_length=100)
    resume_state: str | None = Field(default=None, max_length=100)
    status: str = Field(default=ACTIVE, max_length=20)
    version: int = Field(default=1)
    started_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    current_stage_id: int | None = Field(
        default=None,
        # cycles and stage visits name each other: this key is added after both tables exist
        sa_column_args=[
            ForeignKey("stage_visits.id", use_alter=True, name="fk_cycles_current_stage_id")
        ],
    )
    created_by: str = Field(default="system", max_length=200)
    alliance_id: int | None = Field(default=None, foreign_key="alliances.id", index=True)
    topic: str | None = Field(default=None, max_length=200)


class StageRecord(SQLModel, table=True):
    """One visit of a cycle to a stage (a loop back to prototype is a second visit)."""

    __tablename__ = "stage_visits"
    __table_args__ = (UniqueConstraint("cycle_id", "stage", "visit", name="uq_stage_visit"),)

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycles.id", index=True)
    stage: str = Field(max_length=100)
    visit: int = Field(default=1)
    entered_at: datetime = Field(sa_type=UTCDateTime)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    left_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_activity_at: datetime = Field(sa_type=UTCDateTime)


class EventRecord(SQLModel, table=True):
    """An append-only history line: who did what to the cycle, when, from where to where."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("cycle_id", "seq", name="uq_events_cycle_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycles.id", index=True)
    seq: int
    at: datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=200)
    kind: str = Field(max_length=50)
    trigger: str | None = Field(default=None, max_length=100)
    from_state: str | None = Field(default=None, max_length=100)
    to_state: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)


class IdempotencyRecord(SQLModel, table=True):
    """The first result of a command sent with an idempotency key, returned on every repeat."""

    __tablename__ = "idempotency_keys"

    key: str = Field(primary_key=True, max_length=200)
    command: str = Field(max_length=50)
    cycle_id: int | None = Field(default=None, foreign_key="cycles.id")
    event_id: int | None = Field(default=None, foreign_key="events.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
