"""SQLModel tables; importing this package registers every table on `SQLModel.metadata`."""

from __future__ import annotations

from cycle_engine.store.tables.cycles import (
    ACTIVE,
    FINISHED,
    CycleRecord,
    EventRecord,
    IdempotencyRecord,
    StageRecord,
)
from cycle_engine.store.tables.templates import TemplateRecord

__all__ = [
    "ACTIVE",
    "FINISHED",
    "CycleRecord",
    "EventRecord",
    "IdempotencyRecord",
    "StageRecord",
    "TemplateRecord",
]
