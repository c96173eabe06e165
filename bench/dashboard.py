"""How fast the dashboard's pages answer with 1,000,000 cycles in the database, beside a page
that reads nothing, over HTTP from one `cycle-engine serve` process.

    python -m bench.dashboard [--smoke] [--cycles N] [--url URL]

Builds `bench.world`'s alliance (three partners at every level, with focal points) and adds N
learning cycles by set-based SQL (`bench.world.bulk`, not through the engine: a third overdue,
one in ten stalled, each with a closed earlier stage, a quarter of those late), then refreshes
the planner's statistics. It checks once that the overview's counters agree with counting the
cycles, starts the server on the database and, as the alliance's coordinator signed in, times
sequential GETs of the overview, the stalled steps and the cycle list (first page, overdue and
stalled filters) beside the sign-in page (the floor: the same server and layout, no query at
scale). On SQLite and, when CYCLE_ENGINE_TEST_POSTGRES_URL is set, on PostgreSQL; or only on
the database `--url` names, which it keeps (seeded once: a second run times the pages again on
the same rows, for query plans and before/after comparisons).
Prints the median and the worst of a few runs and the ratio to the floor (aim: every page
under 200 ms); printed, not asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path

import httpx
from sqlalchemy import text

from bench import world
from bench.api import free_port, start_server
from bench.world import World
from cycle_engine import CycleEngine
from cycle_engine.api.dashboard.sessions import SESSION_COOKIE, SESSION_LIFETIME, CookieSettings
from cycle_engine.cycles.listing import CycleFilter
from cycle_engine.store.schema import upgrade
from cycle_engine.store.tables import ACTIVE, FINISHED
from cycle_engine.testing_db import PostgresFactory

#: The pages timed, after the floor: (name, path under /dashboard/alliances/{id}).
PAGES = (
    ("overview", ""),
    ("stalled steps", "/stalled"),
    ("cycle list, page 1", "/cycles"),
    ("overdue cycles, page 1", "/cycles?flag=overdue"),
    ("stalled cycles, page 1", "/cycles?flag=stalled"),
)
SECRET = "bench-secret-" + "0123456789" * 4


def session_cookie(engine: CycleEngine, person_id: int) -> str:
    """A signed dashboard session of `person_id` (the server reads the same secret)."""
    key = engine.alliances.credentials.start_session(person_id, SESSION_LIFETIME)
    return CookieSettings(secret=SECRET, secure=False).sign(SESSION_COOKIE, key)


def timed_ms(client: httpx.Client, path: str, runs: int) -> tuple[float, float]:
    """Median and worst of `runs` sequential GETs of `path` (after one untimed)."""
    client.get(path).raise_for_status()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(path).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def check_counters(engine: CycleEngine, world: World) -> None:
    """The overview's counters agree with counting the cycles (once: counting is slow)."""
    scope = CycleFilter(alliance_id=world.alliance_id)
    started = time.perf_counter()
    counted = tuple(
        engine.cycles.count_cycles(replace(scope, **change))
        for change in (
            {"status": ACTIVE},
            {"status": FINISHED},
            {"overdue": True},
            {"stalled": True},
        )
    )
    seconds = time.perf_counter() - started
    kept = engine.cycles.alliance_figures(world.alliance_id)
    assert counted == (kept.active, kept.finished, kept.overdue, kept.stalled), (counted, kept)
    since = datetime.combine(engine.clock.now().date() - timedelta(days=90), dt_time(), UTC)
    closed = engine.cycles.on_time(since, alliance_id=world.alliance_id)
    assert engine.cycles.alliance_on_time(world.alliance_id, since) == closed, closed
    print(
        f"  counters agree with counting: {kept.active:,} active, {kept.overdue:,} overdue, "
        f"{kept.stalled:,} stalled, {closed.on_time:,} of {closed.closed:,} closed on time "
        f"(counting them took {seconds * 1000:,.0f} ms)"
    )


def seeded(engine: CycleEngine) -> World | None:
    """The world an earlier run seeded in this database, if any (its ids; no cycle list)."""
    with engine.db.read_session() as session:
        alliance = session.execute(
            text("SELECT id FROM alliances WHERE name = :name"), {"name": world.ALLIANCE_NAME}
        ).scalar()
        if alliance is None:
            return None
        people = session.execute(
            text("SELECT id, organisation_id FROM people WHERE email LIKE 'focal%' ORDER BY id")
        ).all()
    return World(
        alliance_id=alliance,
        organisations=[row[1] for row in people],
        people=[row[0] for row in people],
        cycles=[],
    )


def measure(url: str, count: int, runs: int, label: str) -> None:
    upgrade(url)
    now = datetime.now(UTC)  # the server runs on the real clock
    with CycleEngine(url) as engine:
        started = time.perf_counter()
        built = seeded(engine)
        if built is None:
            built = world.build(engine, 0, 3)
            world.bulk(engine, built, count, now)
            print(f"{label}: seeded {count:,} cycles in {time.perf_counter() - started:.1f} s")
        else:
            print(f"{label}: reusing the cycles an earlier run seeded")
        check_counters(engine, built)
        cookie = session_cookie(engine, built.coordinator)
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        workdir = Path(tmp)
        (workdir / "secret.key").write_text(SECRET)
        (workdir / "secret.key").chmod(0o600)
        port = free_port()
        server = start_server(url, port, workdir)
        try:
            with httpx.Client(
                base_url=f"http://127.0.0.1:{port}/dashboard",
                cookies={SESSION_COOKIE: cookie},
                timeout=120,
            ) as client:
                with httpx.Client(base_url=client.base_url) as anonymous:
                    floor, floor_worst = timed_ms(anonymous, "/signin", runs)
                print(
                    f"  {'floor: sign-in page (no query)':<32} {floor:8.1f} ms median, "
                    f"{floor_worst:8.1f} ms worst of {runs}"
                )
                for name, path in PAGES:
                    median, worst = timed_ms(client, f"/alliances/{built.alliance_id}{path}", runs)
                    print(
                        f"  {name:<32} {median:8.1f} ms median, {worst:8.1f} ms worst "
                        f"(aim: under 200 ms); {median / floor:5.1f} x the floor"
                    )
        finally:
            server.terminate()
            server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="2,000 cycles so CI runs it fast")
    parser.add_argument("--cycles", type=int, default=None)
    parser.add_argument("--url", help="only this database, kept (seeded on the first run)")
    args = parser.parse_args()
    count = args.cycles or (2_000 if args.smoke else 1_000_000)
    runs = 3 if args.smoke else 7
    if args.url:
        measure(args.url, count, runs, args.url.split(":", 1)[0])
        return
    with tempfile.TemporaryDirectory() as directory:
        measure(f"sqlite:///{Path(directory) / 'bench.db'}", count, runs, "sqlite")
    postgres = os.environ.get("CYCLE_ENGINE_TEST_POSTGRES_URL")
    if postgres:
        factory = PostgresFactory(postgres)
        try:
            measure(factory.new(), count, runs, "postgresql")
        finally:
            factory.close()


if __name__ == "__main__":
    main()
