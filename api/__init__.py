"""The REST API: drive and embed the engine over HTTP, safely across organisations.

`create_app(Settings.from_env())` builds the FastAPI app; `cycle-engine serve` runs it on uvicorn.
Nothing here runs at import time: settings, the engine and logging are built in the factory.
"""

from __future__ import annotations

from cycle_engine.api.app import create_app
from cycle_engine.api.settings import Settings

__all__ = ["Settings", "create_app"]
