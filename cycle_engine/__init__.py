"""Cycle Engine: Learning Alliance learning cycles as persisted, declared state machines.

    from cycle_engine import CycleEngine
    engine = CycleEngine("sqlite:///cycles.db")

These names are the public surface (pinned by tests/cycle_engine/test_public_surface.py);
everything else is internal, whatever its name. Test helpers for embedders live in
`cycle_engine.testing`.
"""

from __future__ import annotations

from cycle_engine.actors import SYSTEM, Actor
from cycle_engine.changes import Change, ChangeListener, ChangeSubscriber
from cycle_engine.clock import Clock, SystemClock
from cycle_engine.cycles.service import CycleFilter
from cycle_engine.engine import CycleEngine, FireResult
from cycle_engine.errors import (
    ActionNotAllowed,
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
from cycle_engine.plugins import Extensions
from cycle_engine.spec.guards import GuardContext, GuardDefinition
from cycle_engine.spec.machine import TriggerOption

__all__ = [
    "SYSTEM",
    "ActionNotAllowed",
    "Actor",
    "Change",
    "ChangeListener",
    "ChangeSubscriber",
    "Clock",
    "ConflictError",
    "CycleEngine",
    "CycleEngineError",
    "CycleFilter",
    "CycleNotFound",
    "Extensions",
    "FireResult",
    "GuardContext",
    "GuardDefinition",
    "InvalidInput",
    "InvalidTemplate",
    "NotFound",
    "SchemaTooNew",
    "SystemClock",
    "TemplateNotFound",
    "TransitionNotAllowed",
    "TriggerOption",
    "UnknownTrigger",
]
