"""Imports every module that defines tables, so metadata (and Alembic) sees all of them."""

from __future__ import annotations

import cycle_engine.models  # noqa: F401
