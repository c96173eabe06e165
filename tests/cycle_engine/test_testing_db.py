"""The test-database factories: a PostgreSQL factory that keeps a clone ready in the background
hands out migrated, separate databases, removes each one it was asked to drop, and leaves
nothing behind after `close`."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cycle_engine.testing_db import PostgresFactory

POSTGRES_URL = os.environ.get("CYCLE_ENGINE_TEST_POSTGRES_URL")

pytestmark = pytest.mark.skipif(
    not POSTGRES_URL, reason="set CYCLE_ENGINE_TEST_POSTGRES_URL to run on PostgreSQL"
)


def _databases(prefix: str) -> set[str]:
    assert POSTGRES_URL
    admin = create_engine(POSTGRES_URL)
    try:
        with admin.connect() as conn:
            rows = conn.execute(
                text("SELECT datname FROM pg_database WHERE datname LIKE :p"), {"p": f"{prefix}%"}
            )
            return {row[0] for row in rows}
    finally:
        admin.dispose()


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname='public'"))
            return {row[0] for row in rows}
    finally:
        engine.dispose()


def test_clones_made_ahead_are_migrated_separate_and_dropped() -> None:
    """Two databases from a factory keeping one clone ready are migrated and distinct; `drop`
    removes one (in the background) and `close` removes the rest and the template."""
    assert POSTGRES_URL
    prefix = f"ce_test_{os.getpid()}_own_"  # not the session factory's names
    factory = PostgresFactory(POSTGRES_URL, ahead=1, prefix=prefix.rstrip("_"))
    first, second = factory.new(), factory.new()
    empty = factory.new(empty=True)
    names = {make_url(url).database for url in (first, second, empty)}
    assert len(names) == 3
    assert "cycles" in _tables(first) and _tables(first) == _tables(second)
    assert _tables(empty) == set()
    factory.drop(first)
    factory.close()
    assert _databases(prefix) & names == set()
    assert f"{prefix}template" not in _databases(prefix)
