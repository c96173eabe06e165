"""The `Worker`: claim due timers, fire each in its own transaction, report what happened.

`run_once(now)` is the whole loop body and is what tests drive with a `ManualClock`; the driver
(`scheduler.driver`) calls `tick()` from APScheduler. A tick handles at most `max_batches`
batches, so a clock that jumped far forward never turns into an unbounded burst: the rest waits
for the next tick. `stop()` asks a running tick to finish the timer in hand and release the rest
of its claim, so a graceful shutdown leaves nothing leased.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cycle_engine.logs import log_context
from cycle_engine.scheduler.claim import (
    DEFAULT_LEASE,
    Claim,
    claim_due,
    claim_due_timers,
    next_due_at,
    release_timers,
)
from cycle_engine.scheduler.firing import (
    DEFAULT_LATE_AFTER,
    SKIPPED,
    FireOutcome,
    FiringHost,
    fire_timer,
    record_failure,
)
from cycle_engine.store.tables.timers import CANCELLED, DROPPED, FIRED

log = logging.getLogger(__name__)


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(kw_only=True)
class TickResult:
    """Counts of one tick: claimed rows and what became of them."""

    claimed: int = 0
    fired: int = 0
    dropped: int = 0
    cancelled: int = 0
    skipped: int = 0
    failed: int = 0
    released: int = 0
    late: int = 0
    outcomes: list[FireOutcome] = field(default_factory=list, repr=False)

    def add(self, outcome: FireOutcome) -> None:
        self.outcomes.append(outcome)
        if outcome.late:
            self.late += 1
        counter = {FIRED: "fired", DROPPED: "dropped", CANCELLED: "cancelled", SKIPPED: "skipped"}[
            outcome.status
        ]
        setattr(self, counter, getattr(self, counter) + 1)

    def as_dict(self) -> dict[str, int]:
        return {
            name: getattr(self, name)
            for name in (
                "claimed",
                "fired",
                "dropped",
                "cancelled",
                "skipped",
                "failed",
                "released",
                "late",
            )
        }


@dataclass(frozen=True, kw_only=True)
class WorkerSettings:
    """How a worker claims: batch size, lease length, lateness threshold, retries."""

    batch_size: int = 100
    max_batches: int = 50
    lease: timedelta = DEFAULT_LEASE
    late_after: timedelta = DEFAULT_LATE_AFTER
    max_attempts: int = 5


class Worker:
    """Fires the due timers of one engine's database; any number may run at once."""

    def __init__(
        self,
        host: FiringHost,
        *,
        name: str | None = None,
        settings: WorkerSettings | None = None,
    ) -> None:
        self.host = host
        self.name = name or default_worker_name()
        self.settings = settings or WorkerSettings()
        self._stop_asked = False

    def stop(self) -> None:
        """Finish the timer in hand, release the rest of the claim, and stop ticking.

        It only sets a flag: a signal handler calls it, and a handler that takes a lock the
        interrupted thread holds (an Event's, say) waits for that thread forever.
        """
        self._stop_asked = True

    @property
    def stopping(self) -> bool:
        return self._stop_asked

    def claim(self, now: datetime, limit: int | None = None) -> list[int]:
        """Claim up to `limit` (default: batch size) due timers until `now + lease`."""
        return claim_due_timers(
            self.host.db,
            self.name,
            now,
            limit=limit or self.settings.batch_size,
            lease=self.settings.lease,
        )

    def release(self, ids: list[int]) -> int:
        return release_timers(self.host.db, self.name, ids)

    def fire_claimed(self, claims: list[Claim], now: datetime, result: TickResult) -> None:
        """Fire claimed timers one transaction each; on stop, release what is left."""
        for position, claim in enumerate(claims):
            if self.stopping:
                result.released += self.release([c.id for c in claims[position:]])
                return
            try:
                with log_context(timer_id=claim.id, cycle_id=claim.cycle_id):
                    outcome = fire_timer(
                        self.host.db,
                        self.host,
                        self.host.handlers,
                        claim.id,
                        self.name,
                        now,
                        late_after=self.settings.late_after,
                        cycle_id=claim.cycle_id,
                    )
            except Exception as error:  # a handler failed: retry later, never lose the timer
                with log_context(timer_id=claim.id, cycle_id=claim.cycle_id):
                    log.exception("timer %s failed", claim.id)
                result.failed += 1
                record_failure(
                    self.host.db,
                    claim.id,
                    self.name,
                    now,
                    error,
                    retry_after=self.settings.lease / 8,
                    max_attempts=self.settings.max_attempts,
                )
                continue
            result.add(outcome)
            with log_context(timer_id=claim.id, cycle_id=claim.cycle_id):
                late = " (late)" if outcome.late else ""
                log.info("%s timer %s%s %s", outcome.kind, claim.id, late, outcome.status)

    def run_once(self, now: datetime | None = None) -> TickResult:
        """Claim and fire everything due at `now` (the engine's clock by default), in batches."""
        now = now or self.host.clock.now()
        result = TickResult()
        for _ in range(self.settings.max_batches):
            if self.stopping:
                break
            claims = claim_due(
                self.host.db,
                self.name,
                now,
                limit=self.settings.batch_size,
                lease=self.settings.lease,
            )
            result.claimed += len(claims)
            self.fire_claimed(claims, now, result)
            if len(claims) < self.settings.batch_size:
                break
        return result

    def tick(self) -> TickResult:
        """One pass at the engine clock's "now" (what the driver's interval job runs)."""
        return self.run_once(self.host.clock.now())

    def next_due_at(self) -> datetime | None:
        return next_due_at(self.host.db)

    def wait_until_stopped(self, poll: float = 0.1) -> None:
        """Block until `stop()` is called (from a signal handler or another thread), looking
        every `poll` seconds (sleeping takes no lock, and a signal cuts it short)."""
        while not self._stop_asked:
            time.sleep(poll)
