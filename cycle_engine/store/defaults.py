"""Where the engine keeps its data unless told otherwise, importable without the database layer
(the CLI's quick commands read it before deciding whether they need SQLAlchemy at all)."""

from __future__ import annotations

#: The embedded SQLite file `make run` and every command use by default.
DEFAULT_DATABASE_URL = "sqlite:///data/cycle_engine.db"
