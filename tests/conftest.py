"""Shared fixtures: a fresh migrated database per test on SQLite and, when configured,
PostgreSQL (`CYCLE_ENGINE_TEST_POSTGRES_URL`), a controllable clock, and a ready engine."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cycle_engine import CycleEngine
from cycle_engine.testing import ManualClock
from cycle_engine.testing_db import PostgresFactory, SqliteFactory

POSTGRES_URL = os.environ.get("CYCLE_ENGINE_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgresql"]
#: Collection order by marker: the longest kinds of test start first, so the parallel workers
#: do not wait on one long run at the end (the suite's time is its longest worker's).
START_FIRST = ("slow", "process", "browser")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Scale, process and browser tests first (a stable sort: files keep their own order)."""

    def rank(item: pytest.Item) -> int:
        marks = {mark.name for mark in item.iter_markers()}
        return next((n for n, name in enumerate(START_FIRST) if name in marks), len(START_FIRST))

    items.sort(key=rank)


@pytest.fixture(scope="session")
def sqlite_factory(tmp_path_factory: pytest.TempPathFactory) -> SqliteFactory:
    return SqliteFactory(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres_factory() -> Iterator[PostgresFactory | None]:
    if not POSTGRES_URL:
        yield None
        return
    factory = PostgresFactory(POSTGRES_URL, ahead=1)  # the next test's clone waits ready
    yield factory
    factory.close()


def _database(
    backend: str,
    tmp_path: Path,
    sqlite_factory: SqliteFactory,
    postgres_factory: PostgresFactory | None,
    *,
    empty: bool,
) -> Iterator[str]:
    """A fresh database on `backend` (migrated unless `empty`), dropped after the test."""
    if backend == "sqlite":
        yield sqlite_factory.new(tmp_path, empty=empty)
        return
    if postgres_factory is None:
        pytest.skip("set CYCLE_ENGINE_TEST_POSTGRES_URL to run on PostgreSQL")
    url = postgres_factory.new(empty=empty)
    yield url
    postgres_factory.drop(url)


@pytest.fixture(params=BACKENDS)
def db_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_factory: SqliteFactory,
    postgres_factory: PostgresFactory | None,
) -> Iterator[str]:
    """A fresh, migrated database URL on each backend."""
    yield from _database(request.param, tmp_path, sqlite_factory, postgres_factory, empty=False)


@pytest.fixture(params=BACKENDS)
def empty_db_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_factory: SqliteFactory,
    postgres_factory: PostgresFactory | None,
) -> Iterator[str]:
    """A database with no tables at all, on each backend (for the migrations)."""
    yield from _database(request.param, tmp_path, sqlite_factory, postgres_factory, empty=True)


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_factory: SqliteFactory) -> str:
    """A fresh, migrated SQLite database (for tests that are about SQLite itself)."""
    return sqlite_factory.new(tmp_path)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def engine(db_url: str, clock: ManualClock) -> Iterator[CycleEngine]:
    """An engine on a fresh database, no templates published."""
    with CycleEngine(db_url, clock=clock) as cycle_engine:
        yield cycle_engine


@pytest.fixture
def builtin_engine(engine: CycleEngine) -> CycleEngine:
    """An engine with the built-in templates published."""
    engine.publish_builtin_templates()
    return engine


def fill_disk(directory: Path) -> Path:
    """Write zeros into `directory` until its file system is full; the filler's path, to
    unlink when space should come back."""
    filler = directory / "filler"
    with filler.open("wb") as fill:
        try:
            while True:
                fill.write(b"\0" * 65536)
                fill.flush()
                os.fsync(fill.fileno())
        except OSError:
            pass
    return filler


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs (mounting needs root, as CI has); fill it with `fill_disk`."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
