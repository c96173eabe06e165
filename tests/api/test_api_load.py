"""32 clients at once, mixing reads and writes for a bounded time, on SQLite and PostgreSQL:
no request fails, none waits more than two seconds (the API used to deadlock its SQLite pool
when a route held one connection and asked for a second, and writers starved).

The server is `cycle-engine serve` in its own process, as deployed; the 32 clients are
keep-alive connections driven from one thread (`bench.api.Connection`), so the clients' own
threads do not queue for the server's interpreter lock and the figure is the server's.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import pytest

from bench.api import Connection, free_port, http_request, start_server
from cycle_engine import Actor, CycleEngine
from tests.cycle_engine.pilot import PILOT

pytestmark = [pytest.mark.slow, pytest.mark.process]

CLIENTS = 32
SECONDS = 4.0
SLOWEST_ALLOWED = 2.0


def _seed(db_url: str, data: Path) -> tuple[str, list[int]]:
    with CycleEngine(db_url, data_dir=data) as engine:
        engine.templates.publish(PILOT, "pilot.yaml")
        actor = Actor(name="s", role="coordinator")
        cycles = [
            engine.start_cycle("pilot", f"Cycle {n}", actor=actor, standalone=True)
            for n in range(CLIENTS)
        ]
        token = engine.alliances.credentials.create_key(name="load", role="admin").token
    return token, [c.id for c in cycles if c.id is not None]


async def _load(port: int, token: str, cycle_ids: list[int]) -> tuple[Counter[int], float]:
    """Each client alternates GET cycle and a pause/resume of its own cycle until the time is
    up; returns the statuses and the slowest answer in seconds."""
    statuses: Counter[int] = Counter()
    slowest = 0.0
    deadline = time.monotonic() + SECONDS

    async def client(cycle_id: int) -> None:
        nonlocal slowest
        read = http_request("GET", f"/api/v1/cycles/{cycle_id}", token)
        path = f"/api/v1/cycles/{cycle_id}/transitions"
        fires = [
            http_request("POST", path, token, {"trigger": "pause", "note": "load"}),
            http_request("POST", path, token, {"trigger": "resume"}),
        ]
        connection = await Connection.open(port)
        try:
            step = 0
            while time.monotonic() < deadline:
                for request in (read, fires[step % 2]):
                    started = time.monotonic()
                    statuses[await connection.request(request)] += 1
                    slowest = max(slowest, time.monotonic() - started)
                step += 1
        finally:
            connection.close()

    await asyncio.gather(*(client(c) for c in cycle_ids))
    return statuses, slowest


def test_32_clients_reading_and_writing_never_fail_or_wait(db_url: str, tmp_path: Path) -> None:
    """Every answer is a success and the slowest stays under two seconds."""
    token, cycle_ids = _seed(db_url, tmp_path / "data")
    port = free_port()
    server = start_server(db_url, port, tmp_path)
    try:
        statuses, slowest = asyncio.run(_load(port, token, cycle_ids))
    finally:
        server.terminate()
        server.wait(30)
    assert set(statuses) <= {200, 201}, statuses
    assert sum(statuses.values()) >= CLIENTS * 2
    assert slowest < SLOWEST_ALLOWED, f"slowest request took {slowest:.2f} s"
