"""Cycle Engine: Learning Alliance learning cycles as persisted, declared state machines.

from cycle_engine import CycleEngine
engine = CycleEngine("sqlite:///cycles.db")
"""

from __future__ import annotations

from cycle_engine.actors import SYSTEM, Actor
from cycle_engine.engine import CycleEngine, CycleFilter, FireResult
from cycle_engine.errors import (
    ConflictError,
    CycleEngineError,
    CycleNotFound,
    InvalidInput,
    InvalidTemplate,
    NotFound,
    SchemaTooNew,
    TemplateNotFound,
    TransitionNotAllowed,
    UnknownTrigger,
)
from cycle_engine.spec.machine import TriggerOption

__all__ = [
    "SYSTEM",
    "Actor",
    "ConflictError",
    "CycleEngine",
    "CycleEngineError",
    "CycleFilter",
    "CycleNotFound",
    "FireResult",
    "InvalidInput",
    "InvalidTemplate",
    "NotFound",
    "SchemaTooNew",
    "TemplateNotFound",
    "TransitionNotAllowed",
    "TriggerOption",
    "UnknownTrigger",
]
