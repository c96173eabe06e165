"""The REST API and dashboard: drive and embed the engine over HTTP, safely across organisations.

`create_app()` builds the FastAPI app (settings from `CYCLE_ENGINE_*` unless given);
`cycle-engine serve` runs it on uvicorn. A host mounts it under a prefix and enters its lifespan
with `mounted_lifespan(app)` (see the README's "Embedding" section). Nothing here runs at import
time: settings, the engine and logging are built in the factory.
"""

from __future__ import annotations

from cycle_engine.api.app import create_app, mounted_lifespan
from cycle_engine.api.settings import Settings

__all__ = ["Settings", "create_app", "mounted_lifespan"]
