"""Requests per second over HTTP on loopback: reading a cycle, firing a transition, and a
trivial endpoint of the same app in the same run (the ceiling the framework allows here).

    python -m bench.api [--smoke] [--seconds S] [--concurrency C] [--db URL]

Starts `cycle-engine serve` (uvicorn, no worker, no sender) in a subprocess on a free loopback
port against a fresh SQLite database (or `--db`, e.g. a PostgreSQL URL of an empty database),
seeds an alliance with one cycle per load worker and an admin key, then drives each endpoint
for S seconds with C concurrent httpx clients. Firing alternates `pause` and `resume` on each
worker's own cycle, so every request is a real transition (one write transaction each).
Uses `wrk` only if installed; otherwise the bounded async httpx generator below.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from cycle_engine import CycleEngine
from cycle_engine.actors import Actor
from cycle_engine.store.schema import upgrade

Request = Callable[[httpx.AsyncClient, int, int], Awaitable[httpx.Response]]


@dataclass(frozen=True)
class Figure:
    name: str
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def seed(url: str, cycles: int) -> tuple[str, list[int]]:
    """An alliance with `cycles` cycles and an admin key; returns (token, cycle ids)."""
    with CycleEngine(url) as engine:
        engine.publish_builtin_templates()
        alliance = engine.alliances.create_alliance("Bench alliance", "Load")
        assert alliance.id is not None
        actor = Actor(name="bench", role="coordinator")
        ids = []
        for number in range(cycles):
            cycle = engine.start_cycle(
                "learning-cycle",
                f"Bench cycle {number}",
                alliance_id=alliance.id,
                actor=actor,
                questions=["Does it scale?"],
            )
            assert cycle.id is not None
            ids.append(cycle.id)
        token = engine.alliances.credentials.create_key(name="bench", role="admin").token
    return token, ids


async def drive(
    name: str, base: str, token: str, request: Request, concurrency: int, seconds: float
) -> Figure:
    """Run `request` from `concurrency` clients for `seconds`; count answers and latencies."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {token}"}

    async def worker(index: int) -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
            step = 0
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await request(client, index, step)
                latencies.append(time.perf_counter() - started)
                errors += response.status_code >= 400
                step += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies) or [0.0]
    return Figure(
        name=name,
        requests=len(latencies),
        errors=errors,
        seconds=elapsed,
        p50_ms=statistics.median(ordered) * 1000,
        p99_ms=ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
    )


def requests_for(cycle_ids: list[int]) -> dict[str, Request]:
    async def healthz(client: httpx.AsyncClient, _index: int, _step: int) -> httpx.Response:
        return await client.get("/healthz")

    async def read_cycle(client: httpx.AsyncClient, index: int, _step: int) -> httpx.Response:
        return await client.get(f"/api/v1/cycles/{cycle_ids[index]}")

    async def fire(client: httpx.AsyncClient, index: int, step: int) -> httpx.Response:
        body = {"trigger": "pause", "note": "bench"} if step % 2 == 0 else {"trigger": "resume"}
        return await client.post(f"/api/v1/cycles/{cycle_ids[index]}/transitions", json=body)

    return {
        "GET /healthz (trivial)": healthz,
        "GET /api/v1/cycles/{id}": read_cycle,
        "POST /api/v1/cycles/{id}/transitions": fire,
    }


def start_server(url: str, port: int, workdir: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "cycle_engine",
        "serve",
        "--port",
        str(port),
        "--db",
        url,
        "--no-worker",
        "--no-sender",
        "--secret-file",
        str(workdir / "secret.key"),
        "--log-level",
        "warning",
    ]
    env = {**os.environ, "CYCLE_ENGINE_DATA_DIR": str(workdir / "data")}
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if server.poll() is not None:
            raise RuntimeError("the API server exited during start")
        time.sleep(0.2)
    server.terminate()
    raise RuntimeError("the API server did not become ready in 60 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="A short run for CI.")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--db", default=None, help="Database URL (default: a fresh SQLite file).")
    args = parser.parse_args()
    seconds = args.seconds or (1.5 if args.smoke else 10.0)
    concurrency = args.concurrency or (4 if args.smoke else 16)
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        workdir = Path(tmp)
        url = args.db or f"sqlite:///{workdir / 'bench.db'}"
        upgrade(url)
        token, cycle_ids = seed(url, concurrency)
        port = free_port()
        server = start_server(url, port, workdir)
        try:
            figures = [
                asyncio.run(
                    drive(name, f"http://127.0.0.1:{port}", token, request, concurrency, seconds)
                )
                for name, request in requests_for(cycle_ids).items()
            ]
        finally:
            server.terminate()
            server.wait(30)
    database = "postgresql" if url.startswith("postgresql") else "sqlite"
    print(
        f"API over HTTP on loopback: {database}, {concurrency} concurrent clients, "
        f"{seconds:g} s each, load generator httpx (wrk not used), 1 uvicorn process"
    )
    print(f"{'endpoint':<42} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for figure in figures:
        print(
            f"{figure.name:<42} {figure.per_second:>8.1f} {figure.p50_ms:>8.1f} "
            f"{figure.p99_ms:>8.1f} {figure.errors:>7}"
        )
    return 1 if any(f.errors for f in figures) else 0


if __name__ == "__main__":
    sys.exit(main())
