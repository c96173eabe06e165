"""Imports every module that defines tables, so metadata (and Alembic) sees all of them."""

from __future__ import annotations

import cycle_engine.alliances.models
import cycle_engine.models
import cycle_engine.models.access
import cycle_engine.models.dashboard
import cycle_engine.models.outbox
import cycle_engine.models.timers  # noqa: F401
