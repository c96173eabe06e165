"""APScheduler 3 as the alarm clock of a `Worker`: it wakes the loop, it stores nothing.

Two jobs, both in memory and rebuilt from the timer rows at every start: an interval "tick"
(coalesced, one instance at a time, first run at once) and a one-shot "wake-up" at the next due
timer, re-armed after every tick. The rows stay the truth: losing the scheduler loses nothing.
The worker's "now" comes from the engine's clock, APScheduler runs on the wall clock; the
wake-up is placed at the same distance from the wall clock as the due time is from the engine's
clock. A lock keeps the tick and the wake-up from overlapping. `shutdown()` asks the worker to
stop (it releases whatever it claimed but did not fire) and waits for the running job.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from cycle_engine.scheduler.worker import TickResult, Worker

log = logging.getLogger(__name__)

TICK_JOB = "cycle-engine-tick"
WAKEUP_JOB = "cycle-engine-wakeup"


class SchedulerDriver:
    """Runs `worker.tick()` on an interval and at the next due time."""

    def __init__(
        self,
        worker: Worker,
        *,
        interval: timedelta = timedelta(seconds=30),
        on_tick: Callable[[TickResult], None] | None = None,
    ) -> None:
        if interval <= timedelta(0):
            raise ValueError(f"interval must be positive, got {interval}")
        self.worker = worker
        self.interval = interval
        self.on_tick = on_tick
        self.ticks = 0
        self._lock = threading.Lock()
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def start(self) -> None:
        """Build the jobs (tick now and every `interval`; wake-up from the rows) and start."""
        self._scheduler.add_job(
            self._tick,
            "interval",
            seconds=self.interval.total_seconds(),
            id=TICK_JOB,
            coalesce=True,
            max_instances=1,
            next_run_time=datetime.now(UTC),
            replace_existing=True,
        )
        self._scheduler.start()
        self.arm_wakeup()

    def arm_wakeup(self) -> datetime | None:
        """(Re)place the wake-up at the next due timer; returns its wall-clock time or None."""
        due = self.worker.next_due_at()
        if due is None or not self.running:
            self._drop_wakeup()
            return None
        delay = max(due - self.worker.host.clock.now(), timedelta(0))
        if delay >= self.interval:
            self._drop_wakeup()  # the tick comes first
            return None
        run_at = datetime.now(UTC) + delay
        self._scheduler.add_job(
            self._tick,
            "date",
            run_date=run_at,
            id=WAKEUP_JOB,
            coalesce=True,
            max_instances=1,
            replace_existing=True,
        )
        return run_at

    def _drop_wakeup(self) -> None:
        if self._scheduler.get_job(WAKEUP_JOB) is not None:
            self._scheduler.remove_job(WAKEUP_JOB)

    def _tick(self) -> None:
        if self.worker.stopping or not self._lock.acquire(blocking=False):
            return
        try:
            result = self.worker.tick()
            self.ticks += 1
        except Exception:  # keep the driver alive; the rows are untouched or leased
            log.exception("scheduler tick failed")
            return
        finally:
            self._lock.release()
        if self.on_tick is not None:
            self.on_tick(result)
        if not self.worker.stopping:
            self.arm_wakeup()

    def shutdown(self) -> None:
        """Stop the worker (releasing unfired claims) and wait for the job in hand."""
        self.worker.stop()
        if self.running:
            self._scheduler.shutdown(wait=True)


def run_forever(
    worker: Worker,
    *,
    interval: timedelta = timedelta(seconds=30),
    on_tick: Callable[[TickResult], None] | None = None,
    on_stop: Callable[[], None] | None = None,
) -> None:
    """Drive `worker` with APScheduler until `worker.stop()` (or SIGINT/SIGTERM in the CLI);
    `on_tick` hears what each tick did (the worker's metrics), `on_stop` that it is stopping
    (before the job in hand ends)."""
    driver = SchedulerDriver(worker, interval=interval, on_tick=on_tick)
    driver.start()
    try:
        worker.wait_until_stopped()
        if on_stop is not None:
            on_stop()
    finally:
        driver.shutdown()
