"""Real worker processes on one database: many fire 10,000 due timers with each fired exactly
once, a worker killed with SIGKILL after claiming leaves its lease to expire and another takes
over, and `cycle-engine worker` runs the APScheduler driver until SIGTERM."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta

import pytest

from cycle_engine import CycleEngine
from cycle_engine.store.tables.timers import CLAIMED, FIRED
from cycle_engine.testing import ManualClock

from .conftest import bulk_timers, reminder_events_by_timer

pytestmark = pytest.mark.process

#: The issue asks for 10,000; override with CYCLE_ENGINE_TEST_TIMER_COUNT on a slow machine.
TIMERS = int(os.environ.get("CYCLE_ENGINE_TEST_TIMER_COUNT", "10000"))


def worker_process(url: str, now: str, name: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cycle_engine",
            "worker",
            "--once",
            "--db",
            url,
            "--now",
            now,
            "--name",
            name,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.timeout(300)
def test_parallel_workers_fire_each_timer_exactly_once(
    pilot: CycleEngine, clock: ManualClock, db_url: str
) -> None:
    """Three worker processes on PostgreSQL (two on SQLite) fire 10,000 due timers: every
    timer is fired once, yields one event, and the workers' counts add up."""
    bulk_timers(pilot, TIMERS, clock.now() - timedelta(minutes=1))
    count = 3 if pilot.db.is_postgresql else 2
    processes = [worker_process(db_url, clock.now().isoformat(), f"w{n}") for n in range(count)]
    reports = []
    for process in processes:
        out, err = process.communicate(timeout=280)
        assert process.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    assert sum(r["fired"] for r in reports) == TIMERS
    assert sum(r["failed"] for r in reports) == 0
    events = reminder_events_by_timer(pilot)
    assert len(events) == TIMERS and set(events.values()) == {1}
    assert {t.status for t in pilot.timers.list_timers()} == {
        FIRED,
        "pending",
    }  # pending: plain stage due


CLAIM_THEN_BLOCK = textwrap.dedent("""
    import sys
    from datetime import datetime
    from cycle_engine import CycleEngine
    from cycle_engine.scheduler.worker import Worker
    with CycleEngine(sys.argv[1]) as engine:
        ids = Worker(engine, name="doomed").claim(datetime.fromisoformat(sys.argv[2]))
        print(len(ids), flush=True)
        sys.stdin.readline()  # hold the claim until killed
""")


def test_killed_worker_lease_expires_and_another_takes_over(
    pilot: CycleEngine, clock: ManualClock, db_url: str
) -> None:
    """A worker killed with SIGKILL right after claiming fires nothing; after its lease ends
    another worker fires each of its timers once."""
    bulk_timers(pilot, 50, clock.now(), cycles=5)
    doomed = subprocess.Popen(
        [sys.executable, "-c", CLAIM_THEN_BLOCK, db_url, clock.now().isoformat()],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert doomed.stdout is not None
    assert doomed.stdout.readline().strip() == "50", doomed.stderr.read()  # type: ignore[union-attr]
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.communicate(timeout=10)  # reaps it and closes its pipes
    assert {t.lease_owner for t in pilot.timers.list_timers(status=CLAIMED)} == {"doomed"}
    assert pilot.run_due_timers().claimed == 0  # the lease still holds
    clock.advance(timedelta(minutes=5))
    result = pilot.timers.run_due_timers(worker_name="heir")
    assert (result.claimed, result.fired) == (50, 50)
    assert set(reminder_events_by_timer(pilot).values()) == {1}
    assert pilot.run_due_timers().claimed == 0


def test_worker_command_runs_until_sigterm_and_releases_nothing_claimed(
    pilot: CycleEngine, clock: ManualClock, db_url: str
) -> None:
    """`cycle-engine worker` fires what is due at start (jobs rebuilt from rows), then stops
    cleanly on SIGTERM leaving no timer claimed."""
    bulk_timers(pilot, 30, clock.now(), cycles=3)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cycle_engine",
            "worker",
            "--db",
            db_url,
            "--now",
            clock.now().isoformat(),
            "--interval",
            "3600",
        ],
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    assert "running" in process.stderr.readline()
    for _ in range(400):  # wait for the subprocess's first tick (at most ~20 s)
        if len(reminder_events_by_timer(pilot)) == 30 or process.poll() is not None:
            break
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=0.05)
    process.send_signal(signal.SIGTERM)
    try:
        _, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:  # seen once in a loaded suite run: say where it hangs
        process.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
        _, err = process.communicate(timeout=30)
        pytest.fail(f"the worker did not stop within 30 s of SIGTERM:\n{err}")
    assert process.returncode == 0, err
    assert "stopped" in err
    assert len(reminder_events_by_timer(pilot)) == 30
    assert pilot.timers.list_timers(status=CLAIMED) == []
