"""Does anything block the event loop? `/healthz` latency while dashboard pages load and the
outbox sends mail, in one `cycle-engine serve` process.

    python -m bench.event_loop [--smoke] [--seconds S] [--emails N] [--pages P]

Starts an SMTP sink (aiosmtpd, its own process) and `cycle-engine serve` with the outbox sender
on (no scheduler) against a fresh SQLite database holding N due emails, an alliance with cycles
and its coordinator signed in to the dashboard. Then, for S seconds: P clients reload the
alliance's overview and cycle list as fast as they can, the sender delivers the emails, and one
client asks `/healthz` every 10 ms. `/healthz` does no I/O, so its latency is how long the
event loop was held by other work (database calls, rendering, signing). Aim: p99 under 10 ms.
Prints `/healthz` p50/p99/max, the pages served and the emails the sink received; printed, not
asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.api import Connection, Figure, free_port, http_request, start_server
from bench.mail import run_sink, seed
from cycle_engine import CycleEngine
from cycle_engine.api.dashboard.sessions import SESSION_COOKIE, SESSION_LIFETIME, CookieSettings
from cycle_engine.store.schema import upgrade
from cycle_engine.testing import WorldBuilder

SECRET = "bench-secret-" + "0123456789" * 4


def seed_dashboard(url: str, cycles: int) -> tuple[int, str]:
    """An alliance with `cycles` cycles and its coordinator's dashboard session; returns the
    alliance id and the signed session cookie."""
    with CycleEngine(url) as engine:
        engine.publish_builtin_templates()
        build = WorldBuilder(engine)
        build.alliance("alliance", "Bench alliance", "Load")
        build.organisation("org", "CIAT", "research", "Colombia", member_of=["alliance"])
        person = build.person(
            "coordinator", "Ana", "ana@ciat.example", "org", roles={"alliance": "coordinator"}
        )
        for number in range(cycles):
            build.cycle(f"c{number}", "learning-cycle", f"Cycle {number}", "alliance")
        key = engine.alliances.credentials.start_session(person, SESSION_LIFETIME)
    cookie = CookieSettings(secret=SECRET, secure=False).sign(SESSION_COOKIE, key)
    return build["alliance"], cookie


def page_request(path: str, cookie: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {SESSION_COOKIE}={cookie}\r\n\r\n"
    ).encode()


async def measure(
    port: int, alliance: int, cookie: str, pages: int, seconds: float
) -> tuple[Figure, Figure]:
    """`/healthz` every 10 ms beside `pages` clients reloading dashboard pages."""
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a short run for CI")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--emails", type=int, default=None)
    parser.add_argument("--pages", type=int, default=2, help="clients reloading pages")
    args = parser.parse_args()
    seconds = args.seconds or (2.0 if args.smoke else 10.0)
    emails = args.emails or (200 if args.smoke else 5000)
    smtp_port, port = free_port(), free_port()
    counter = multiprocessing.Value("i", 0)
    ready = multiprocessing.Event()
    sink = multiprocessing.Process(target=run_sink, args=(smtp_port, counter, ready), daemon=True)
    sink.start()
    if not ready.wait(timeout=30):
        raise SystemExit("the SMTP sink did not start")
    try:
        with tempfile.TemporaryDirectory(prefix="bench-loop-") as tmp:
            workdir = Path(tmp)
            url = f"sqlite:///{workdir / 'bench.db'}"
            upgrade(url)
            alliance, cookie = seed_dashboard(url, 50)
            seed(url, emails, now=datetime.now(UTC))
            (workdir / "secret.key").write_text(SECRET)
            (workdir / "secret.key").chmod(0o600)
            server = start_server(url, port, workdir, smtp_port=smtp_port)
            try:
                health, served = asyncio.run(measure(port, alliance, cookie, args.pages, seconds))
            finally:
                server.terminate()
                server.wait(30)
    finally:
        sink.terminate()
        sink.join()
    print(
        f"one `serve` process, SQLite, {args.pages} clients reloading dashboard pages, the "
        f"outbox sending {emails} due emails, {seconds:g} s"
    )
    print(
        f"GET /healthz every 10 ms: p50 {health.percentile_ms(0.5):.1f} ms, "
        f"p99 {health.percentile_ms(0.99):.1f} ms, max {health.percentile_ms(1.0):.1f} ms "
        f"(aim: p99 < 10 ms); errors {health.errors}"
    )
    print(
        f"dashboard pages: {served.per_second:.1f}/s, p50 {served.percentile_ms(0.5):.0f} ms, "
        f"errors {served.errors}; emails received by the sink: {counter.value}"
    )
    return 1 if health.errors or served.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
