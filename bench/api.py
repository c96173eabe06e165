"""Requests per second over HTTP on loopback: reading a cycle, firing a transition, and a
trivial endpoint of the same app in the same run (the ceiling the framework allows here).

    python -m bench.api [--smoke] [--seconds S] [--concurrency C] [--rounds R] [--db URL]
                        [--organisations N ...]

Starts `cycle-engine serve` (uvicorn, no worker, no sender) in a subprocess on a free loopback
port against a fresh SQLite database (or `--db`, e.g. a PostgreSQL URL of an empty database),
seeds `bench.world`'s alliance (3, then 30 partners at every level of every stage, with focal
points) with one learning cycle per load worker and an admin key, then drives each endpoint
for S seconds with C keep-alive connections (a minimal asyncio HTTP/1.1 client sending
pre-built requests, so the generator costs less than the cheapest endpoint). Firing alternates
`pause` and `resume` on each worker's own cycle, so every request is a real transition (one write
transaction each). Prints requests/s, p50 and p99 per endpoint and the ratio of GET cycle to
`/healthz` (aim: at least 0.5).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench import world
from cycle_engine import CycleEngine
from cycle_engine.store.schema import upgrade

#: The request bytes a load worker sends at a step: (worker index, step) -> bytes.
Request = Callable[[int, int], bytes]
HEALTHZ = "GET /healthz (trivial)"
READ = "GET /api/v1/cycles/{id}"


@dataclass
class Figure:
    """One endpoint's answers over every round of the run."""

    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile_ms(self, share: float) -> float:
        ordered = sorted(self.latencies) or [0.0]
        return ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def seed(url: str, cycles: int, organisations: int) -> tuple[str, list[int]]:
    """`bench.world`'s alliance (partners at every level, with focal points) with `cycles`
    learning cycles, and an admin key; returns (token, cycle ids)."""
    with CycleEngine(url) as engine:
        ids = world.build(engine, cycles, organisations).cycles
        token = engine.alliances.credentials.create_key(name="bench", role="admin").token
    return token, ids


class Connection:
    """One keep-alive HTTP/1.1 connection speaking just enough of the protocol to time the
    server: pre-built request bytes out, status line, headers and a Content-Length body in.
    (httpx costs the load generator more per request than `/healthz` costs the server.)"""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def request(self, data: bytes) -> int:
        """Send one request; returns its status once the whole answer has been read."""
        self.writer.write(data)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


def http_request(method: str, path: str, token: str, body: object = None) -> bytes:
    """The bytes of one request (JSON body when given)."""
    content = b"" if body is None else json.dumps(body).encode()
    head = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Authorization: Bearer {token}",
        f"Content-Length: {len(content)}",
    ]
    if body is not None:
        head.append("Content-Type: application/json")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + content


async def drive(
    figure: Figure, port: int, request: Request, concurrency: int, seconds: float
) -> None:
    """Run `request` from `concurrency` connections for `seconds`, adding to `figure`."""
    deadline = time.perf_counter() + seconds

    async def worker(index: int) -> None:
        connection = await Connection.open(port)
        try:
            step = 0
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                status = await connection.request(request(index, step))
                figure.latencies.append(time.perf_counter() - started)
                figure.errors += status >= 400
                step += 1
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    figure.seconds += time.perf_counter() - started


def requests_for(token: str, cycle_ids: list[int]) -> dict[str, Request]:
    """Each endpoint's request bytes, built before timing (per worker and step)."""
    health = http_request("GET", "/healthz", token)
    reads = [http_request("GET", f"/api/v1/cycles/{c}", token) for c in cycle_ids]
    path = "/api/v1/cycles/{}/transitions"
    pause = {"trigger": "pause", "note": "bench"}
    pauses = [http_request("POST", path.format(c), token, pause) for c in cycle_ids]
    resumes = [
        http_request("POST", path.format(c), token, {"trigger": "resume"}) for c in cycle_ids
    ]
    fired = [0] * len(cycle_ids)  # across rounds: each cycle alternates pause and resume

    def fire(index: int) -> bytes:
        fired[index] += 1
        return pauses[index] if fired[index] % 2 else resumes[index]

    return {
        HEALTHZ: lambda _index, _step: health,
        READ: lambda index, _step: reads[index],
        "POST /api/v1/cycles/{id}/transitions": lambda index, _step: fire(index),
    }


def start_server(
    url: str, port: int, workdir: Path, *, smtp_port: int | None = None
) -> subprocess.Popen[bytes]:
    """`cycle-engine serve` on `port`, ready; without the scheduler, and without the outbox
    sender unless `smtp_port` names a plain SMTP server on loopback for it."""
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
        *(["--no-sender"] if smtp_port is None else []),
        "--secret-file",
        str(workdir / "secret.key"),
        "--log-level",
        "warning",
    ]
    env = {**os.environ, "CYCLE_ENGINE_DATA_DIR": str(workdir / "data")}
    if smtp_port is not None:
        env |= {
            "CYCLE_ENGINE_SMTP_HOST": "127.0.0.1",
            "CYCLE_ENGINE_SMTP_PORT": str(smtp_port),
            "CYCLE_ENGINE_SMTP_TLS": "none",
        }
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


def run(
    url: str, workdir: Path, organisations: int, concurrency: int, seconds: float, rounds: int
) -> list[Figure]:
    """Seed `url`, serve it, and drive every endpoint; the figures in `requests_for`'s order."""
    upgrade(url)
    token, cycle_ids = seed(url, concurrency, organisations)
    port = free_port()
    server = start_server(url, port, workdir)
    try:
        requests = requests_for(token, cycle_ids)
        figures = [Figure(name) for name in requests]
        for _ in range(rounds):  # interleaved, so a change in the machine's load hits all
            for figure in figures:
                asyncio.run(
                    drive(figure, port, requests[figure.name], concurrency, seconds / rounds)
                )
    finally:
        server.terminate()
        server.wait(30)
    return figures


def report(figures: list[Figure]) -> float:
    """Print the table; returns GET cycle's rate over /healthz's."""
    print(f"{'endpoint':<42} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for figure in figures:
        print(
            f"{figure.name:<42} {figure.per_second:>8.1f} {figure.percentile_ms(0.5):>8.1f} "
            f"{figure.percentile_ms(0.99):>8.1f} {figure.errors:>7}"
        )
    rates = {f.name: f.per_second for f in figures}
    ratio = rates[READ] / rates[HEALTHZ]
    print(f"GET cycle / GET /healthz: {ratio:.2f} (aim: at least 0.50)")
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="A short run for CI.")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument(
        "--db", default=None, help="Database URL of an empty database (default: fresh SQLite)."
    )
    parser.add_argument(
        "--rounds", type=int, default=None, help="Interleaved rounds the seconds are split into."
    )
    parser.add_argument(
        "--organisations",
        type=int,
        action="append",
        help="Partners of the alliance (repeatable; default 3, and 30 unless --smoke).",
    )
    args = parser.parse_args()
    seconds = args.seconds or (1.5 if args.smoke else 10.0)
    concurrency = args.concurrency or (4 if args.smoke else 16)
    rounds = args.rounds or (1 if args.smoke else 5)
    sizes = args.organisations or ([3] if args.smoke else [3, 30])
    if args.db and len(sizes) > 1:
        parser.error("--db holds one world: pass one --organisations")
    errors = 0
    for organisations in sizes:
        with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
            workdir = Path(tmp)
            url = args.db or f"sqlite:///{workdir / 'bench.db'}"
            figures = run(url, workdir, organisations, concurrency, seconds, rounds)
        database = "postgresql" if url.startswith("postgresql") else "sqlite"
        print(
            f"API over HTTP on loopback: {database}, learning cycles of an alliance with "
            f"{organisations} partners at every level, {concurrency} concurrent clients, "
            f"{seconds:g} s each in {rounds} interleaved rounds, keep-alive asyncio load "
            "generator, 1 uvicorn process"
        )
        report(figures)
        errors += sum(f.errors for f in figures)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
