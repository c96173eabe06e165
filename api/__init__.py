"""The REST API and dashboard: drive and embed the engine over HTTP, safely across organisations.

`create_app()` builds the FastAPI app (settings from `CYCLE_ENGINE_*` unless given);
`cycle-engine serve` runs it on uvicorn. A host mounts it under a prefix and enters its lifespan
with `mounted_lifespan(app)` (see the README's "Embedding" section). Nothing here runs at import
time: settings, the engine and logging are built in the factory.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cycle_engine.api.app import create_app, mounted_lifespan
    from cycle_engine.api.settings import Settings

__all__ = ["Settings", "create_app", "mounted_lifespan"]

#: Loaded on first use (PEP 562), so `cycle-engine --help` can read `cycle_engine.api.cli`
#: without importing FastAPI.
_EXPORTS = {
    "Settings": "cycle_engine.api.settings",
    "create_app": "cycle_engine.api.app",
    "mounted_lifespan": "cycle_engine.api.app",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cycle_engine.api' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
