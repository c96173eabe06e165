"""Does anything block the event loop? `/healthz` latency alone, while dashboard pages load,
while the outbox sends mail, and while both run, against one `cycle-engine serve`.

    python -m bench.event_loop [--smoke] [--seconds S] [--emails N] [--pages P]
                               [--sender-in-process]

Starts an SMTP sink (aiosmtpd on loopback, its own process) and `cycle-engine serve` with the
outbox sender on (no scheduler) against a fresh SQLite database holding `bench.world`'s
alliance (three partners at every level of every stage, with focal points) with learning
cycles, its coordinator signed in to the dashboard. The sender runs in serve's child process,
as `serve` runs it by default, or with `--sender-in-process` in serve's own process (to compare
the two). Then four phases of S seconds each, one client asking `/healthz` every 10 ms
throughout: alone; while P clients reload the alliance's overview and cycle list as fast as
they can; while the sender delivers N due emails added just before the phase; and while both
run. `/healthz` does no I/O, so its latency is how long the event loop was held by other work
(database calls, rendering, signing, other threads holding the interpreter lock); alone is its
floor. Prints `/healthz` p50/p99/max per phase, the pages served and the emails the sink
received per second (aim: p99 under 10 ms with pages and mail); printed, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench import world
from bench.api import Connection, Figure, free_port, http_request, start_server
from bench.mail import add_emails, run_sink
from cycle_engine import CycleEngine
from cycle_engine.api.dashboard.sessions import SESSION_COOKIE, SESSION_LIFETIME, CookieSettings
from cycle_engine.store.schema import upgrade

SECRET = "bench-secret-" + "0123456789" * 4


def seed_dashboard(url: str, cycles: int) -> tuple[world.World, str]:
    """`bench.world`'s alliance with `cycles` learning cycles, and its coordinator's dashboard
    session; returns the world and the signed session cookie."""
    with CycleEngine(url) as engine:
        built = world.build(engine, cycles, 3)
        key = engine.alliances.credentials.start_session(built.coordinator, SESSION_LIFETIME)
    cookie = CookieSettings(secret=SECRET, secure=False).sign(SESSION_COOKIE, key)
    return built, cookie


def page_request(path: str, cookie: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {SESSION_COOKIE}={cookie}\r\n\r\n"
    ).encode()


async def measure(
    port: int, alliance: int, cookie: str, pages: int, seconds: float
) -> tuple[Figure, Figure]:
    """`/healthz` every 10 ms beside `pages` clients reloading dashboard pages (none: alone)."""
    health, served = Figure("GET /healthz"), Figure("dashboard pages")
    deadline = time.perf_counter() + seconds
    paths = [f"/dashboard/alliances/{alliance}", f"/dashboard/alliances/{alliance}/cycles"]

    async def reload(index: int) -> None:
        connection = await Connection.open(port)
        try:
            step = index
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                status = await connection.request(page_request(paths[step % 2], cookie))
                served.latencies.append(time.perf_counter() - started)
                served.errors += status >= 400
                step += 1
        finally:
            connection.close()

    async def probe() -> None:
        connection = await Connection.open(port)
        request = http_request("GET", "/healthz", "-")
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                status = await connection.request(request)
                health.latencies.append(time.perf_counter() - started)
                health.errors += status >= 400
                await asyncio.sleep(0.01)
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(probe(), *(reload(i) for i in range(pages)))
    health.seconds = served.seconds = time.perf_counter() - started
    return health, served


@dataclass(frozen=True, kw_only=True)
class Phase:
    name: str
    pages: int  # clients reloading dashboard pages
    emails: int  # due emails added just before the phase starts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a short run for CI")
    parser.add_argument("--seconds", type=float, default=None, help="per phase")
    parser.add_argument("--emails", type=int, default=None, help="per phase that sends mail")
    parser.add_argument("--pages", type=int, default=2, help="clients reloading pages")
    parser.add_argument(
        "--sender-in-process",
        action="store_true",
        help="send mail in serve's own process instead of its child process",
    )
    args = parser.parse_args()
    if args.sender_in_process:  # read by `serve` (the server inherits this environment)
        os.environ["CYCLE_ENGINE_SENDER_PROCESS"] = "false"
    seconds = args.seconds or (1.5 if args.smoke else 10.0)
    emails = args.emails or (200 if args.smoke else 5000)
    phases = [
        Phase(name="alone", pages=0, emails=0),
        Phase(name="dashboard pages", pages=args.pages, emails=0),
        Phase(name="mail", pages=0, emails=emails),
        Phase(name="dashboard pages and mail", pages=args.pages, emails=emails),
    ]
    smtp_port, port = free_port(), free_port()
    counter = multiprocessing.Value("i", 0)
    ready = multiprocessing.Event()
    sink = multiprocessing.Process(target=run_sink, args=(smtp_port, counter, ready), daemon=True)
    sink.start()
    if not ready.wait(timeout=30):
        raise SystemExit("the SMTP sink did not start")
    results: list[tuple[Phase, Figure, Figure, int]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-loop-") as tmp:
            workdir = Path(tmp)
            url = f"sqlite:///{workdir / 'bench.db'}"
            upgrade(url)
            built, cookie = seed_dashboard(url, 10 if args.smoke else 50)
            (workdir / "secret.key").write_text(SECRET)
            (workdir / "secret.key").chmod(0o600)
            server = start_server(url, port, workdir, smtp_port=smtp_port)
            try:
                # warm-up: the pages' templates and queries compiled, untimed
                asyncio.run(measure(port, built.alliance_id, cookie, args.pages, 1.0))
                for number, phase in enumerate(phases):
                    before = counter.value
                    if phase.emails:  # due now: wait for the running sender to start on them
                        with CycleEngine(url) as engine:
                            now = datetime.now(UTC)
                            add_emails(engine, built, phase.emails, now, batch=f"{number}-")
                        waited = time.monotonic()
                        while counter.value == before and time.monotonic() - waited < 60:
                            time.sleep(0.01)
                        before = counter.value
                    health, served = asyncio.run(
                        measure(port, built.alliance_id, cookie, phase.pages, seconds)
                    )
                    results.append((phase, health, served, counter.value - before))
            finally:
                server.terminate()
                server.wait(30)
    finally:
        sink.terminate()
        sink.join()
    print(
        f"`serve` (mail sent {'in its own process' if args.sender_in_process else 'by its child'}"
        f"), SQLite, `bench.world`'s alliance (3 partners at every level); "
        f"{seconds:g} s per phase; GET /healthz every 10 ms (aim: p99 < 10 ms under load)"
    )
    print(
        f"{'phase':<26} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'pages/s':>8} "
        f"{'page p50':>9} {'emails/s':>9} {'errors':>7}"
    )
    errors = 0
    for phase, health, served, sent in results:
        errors += health.errors + served.errors
        pages = (
            f"{served.per_second:8.1f} {served.percentile_ms(0.5):7.0f}ms"
            if phase.pages
            else f"{'-':>8} {'-':>9}"
        )
        print(
            f"{phase.name:<26} {health.percentile_ms(0.5):7.1f} {health.percentile_ms(0.99):7.1f} "
            f"{health.percentile_ms(1.0):7.1f} {pages} {sent / health.seconds:9.0f} "
            f"{health.errors + served.errors:>7}"
        )
    alone = results[0][1].percentile_ms(0.99)
    loaded = results[-1][1].percentile_ms(0.99)
    print(f"/healthz p99 under pages and mail / alone: {loaded / alone:.1f}x")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
