"""Fixtures of the store contract suite: an empty PostgreSQL database (schemas and hosts), and
one a host application already migrated with its own Alembic (`empty_db_url`, on each backend,
is the whole suite's)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config

from cycle_engine.testing_db import PostgresFactory

from .host import host_config


@pytest.fixture
def empty_postgres_url(postgres_factory: PostgresFactory | None) -> Iterator[str]:
    """An empty PostgreSQL database (for schemas and hosts, which only PostgreSQL has)."""
    if postgres_factory is None:
        pytest.skip("set CYCLE_ENGINE_TEST_POSTGRES_URL to run on PostgreSQL")
    url = postgres_factory.new(empty=True)
    yield url
    postgres_factory.drop(url)


@pytest.fixture
def host_url(empty_postgres_url: str, tmp_path: Path) -> tuple[str, Config]:
    """A database where a host application ran its own Alembic history."""
    config = host_config(empty_postgres_url, tmp_path / "host_migrations")
    command.upgrade(config, "head")
    return empty_postgres_url, config
