"""When the database cannot serve (connections refused, read-only, disk full) the API answers
503 with Retry-After, logs one line per failed request without a traceback, keeps connections
alive, and recovers by itself; reads with an API key keep working on a read-only database."""

from __future__ import annotations

import logging
import shutil
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cycle_engine import Actor, CycleEngine
from cycle_engine.api import create_app
from cycle_engine.testing import ManualClock
from tests.api.conftest import ServerThread, api_settings
from tests.conftest import fill_disk
from tests.cycle_engine.pilot import PILOT

COORDINATOR = Actor(name="seed", role="coordinator")


def seed(url: str, clock: ManualClock, tmp_path: Path) -> tuple[int, str]:
    """A cycle and an admin key in the database at `url`."""
    with CycleEngine(url, clock=clock, data_dir=tmp_path / "data") as engine:
        engine.templates.publish(PILOT, "pilot.yaml")
        cycle = engine.start_cycle("pilot", "Seed systems", actor=COORDINATOR, standalone=True)
        token = engine.alliances.credentials.create_key(name="ops", role="admin").token
    assert cycle.id is not None
    return cycle.id, token


def statuses(client: httpx.Client, requests: list[tuple[str, str]]) -> Counter[int]:
    """Send every request on one keep-alive connection; a dropped connection fails the test."""
    seen: Counter[int] = Counter()
    for method, path in requests:
        answer = client.request(method, path, json={"trigger": "pause"})
        seen[answer.status_code] += 1
        if answer.status_code == 503:
            assert answer.headers["retry-after"] == "5"
            assert answer.headers["content-type"] == "application/problem+json"
    return seen


@pytest.fixture
def postgres_url(db_url: str) -> str:
    if not db_url.startswith("postgresql"):
        pytest.skip("this test stops a PostgreSQL database's connections")
    return db_url


def test_postgresql_refusing_connections_answers_503_then_recovers(
    postgres_url: str, clock: ManualClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """While the database refuses connections every call answers 503 with Retry-After (no 500,
    no dropped keep-alive connection, no traceback); once it accepts them again, 200."""
    cycle_id, token = seed(postgres_url, clock, tmp_path)
    name = make_url(postgres_url).database
    admin = create_engine(make_url(postgres_url).set(database="postgres"))
    app = create_app(api_settings(postgres_url, tmp_path), clock=clock)
    calls = [
        ("GET", f"/api/v1/cycles/{cycle_id}"),
        ("POST", f"/api/v1/cycles/{cycle_id}/transitions"),
    ] * 5
    with (
        ServerThread(app) as server,
        httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as client,
    ):
        assert client.get(f"/api/v1/cycles/{cycle_id}").status_code == 200
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            try:
                with caplog.at_level(logging.WARNING):
                    down = statuses(client, calls)
                    ready = client.get("/readyz")
            finally:
                conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        assert down == Counter({503: 10})
        assert ready.status_code == 503 and ready.headers["retry-after"] == "5"
        assert not [r for r in caplog.records if r.exc_info], "no traceback while it is down"
        assert client.get(f"/api/v1/cycles/{cycle_id}").status_code == 200
        assert client.get("/readyz").status_code == 200
    admin.dispose()


def test_read_only_sqlite_serves_reads_and_refuses_writes_with_503(
    sqlite_url: str, clock: ManualClock, tmp_path: Path
) -> None:
    """On a read-only database, authenticated reads answer 200 (the key's use is not recorded),
    writes answer 503 with Retry-After, and /readyz says it is not ready."""
    cycle_id, token = seed(sqlite_url, clock, tmp_path)
    path = sqlite_url.removeprefix("sqlite:///")
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    app = create_app(api_settings(read_only, tmp_path), clock=clock)
    with (
        ServerThread(app) as server,
        httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as client,
    ):
        reads = statuses(client, [("GET", f"/api/v1/cycles/{cycle_id}")] * 3)
        writes = client.post(f"/api/v1/cycles/{cycle_id}/transitions", json={"trigger": "pause"})
        ready = client.get("/readyz")
    assert reads == Counter({200: 3})
    assert writes.status_code == 503 and writes.headers["retry-after"] == "5"
    assert ready.status_code == 503


def test_full_disk_answers_503_and_recovers(
    sqlite_url: str, clock: ManualClock, tmp_path: Path, small_disk: Path
) -> None:
    """With the database's disk full, writes answer 503 with Retry-After and /readyz says not
    ready; once space is freed, writes succeed again."""
    source = Path(sqlite_url.removeprefix("sqlite:///"))
    cycle_id, token = seed(sqlite_url, clock, tmp_path)
    shutil.copyfile(source, small_disk / "cycles.db")
    url = f"sqlite:///{small_disk / 'cycles.db'}"
    app = create_app(api_settings(url, tmp_path), clock=clock)
    with (
        ServerThread(app) as server,
        httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as client,
    ):
        assert client.get(f"/api/v1/cycles/{cycle_id}").status_code == 200
        filler = fill_disk(small_disk)
        answers = statuses(client, [("POST", f"/api/v1/cycles/{cycle_id}/transitions")] * 3)
        ready = client.get("/readyz")
        filler.unlink()
        recovered = client.get("/readyz")
        written = statuses(client, [("POST", f"/api/v1/cycles/{cycle_id}/transitions")])
    assert answers == Counter({503: 3})
    assert ready.status_code == 503 and recovered.status_code == 200
    assert written == Counter({201: 1})
