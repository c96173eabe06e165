"""Imports every module that defines tables, so metadata (and Alembic) sees all of them."""

from __future__ import annotations

import cycle_engine.store.tables
import cycle_engine.store.tables.access
import cycle_engine.store.tables.alliances
import cycle_engine.store.tables.counters
import cycle_engine.store.tables.dashboard
import cycle_engine.store.tables.drafts
import cycle_engine.store.tables.history
import cycle_engine.store.tables.learning
import cycle_engine.store.tables.outbox
import cycle_engine.store.tables.timers  # noqa: F401
