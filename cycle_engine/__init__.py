"""Cycle Engine: Learning Alliance learning cycles as persisted, declared state machines.

    from cycle_engine import CycleEngine
    engine = CycleEngine("sqlite:///cycles.db")

These names are the public surface (pinned by tests/cycle_engine/test_public_surface.py);
everything else is internal, whatever its name. Test helpers for embedders live in
`cycle_engine.testing`. The names load on first use (PEP 562), so `import cycle_engine` (and
`cycle-engine --help`) does not pull in SQLAlchemy.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_EXPORTS = {
    "ActionNotAllowed": "cycle_engine.errors",
    "Actor": "cycle_engine.actors",
    "Change": "cycle_engine.changes",
    "ChangeListener": "cycle_engine.changes",
    "ChangeSubscriber": "cycle_engine.changes",
    "Clock": "cycle_engine.clock",
    "ConflictError": "cycle_engine.errors",
    "CycleEngine": "cycle_engine.engine",
    "CycleEngineError": "cycle_engine.errors",
    "CycleFilter": "cycle_engine.cycles.service",
    "CycleNotFound": "cycle_engine.errors",
    "Extensions": "cycle_engine.plugins",
    "FireResult": "cycle_engine.engine",
    "GuardContext": "cycle_engine.spec.guards",
    "GuardDefinition": "cycle_engine.spec.guards",
    "InvalidInput": "cycle_engine.errors",
    "InvalidTemplate": "cycle_engine.errors",
    "NotFound": "cycle_engine.errors",
    "SYSTEM": "cycle_engine.actors",
    "SchemaTooNew": "cycle_engine.errors",
    "SystemClock": "cycle_engine.clock",
    "TemplateNotFound": "cycle_engine.errors",
    "TransitionNotAllowed": "cycle_engine.errors",
    "TriggerOption": "cycle_engine.spec.machine",
    "UnknownTrigger": "cycle_engine.errors",
}

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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cycle_engine' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
