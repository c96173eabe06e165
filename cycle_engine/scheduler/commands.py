"""`TimerService` (`engine.timers`): the scheduler's commands and queries.

Managers ask `overdue()` and `stalled()` (one alliance or all); hosts and tests run due timers
with `run_due_timers()`; `late_timers()` lists every timer that was found late, sent or dropped,
so nothing is dropped silently. `timer_handlers` is where other packages register a handler for
their own timer kind (notifications: "digest").
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select

from cycle_engine.alliances.reach import Reach
from cycle_engine.changes import Changes
from cycle_engine.clock import Clock
from cycle_engine.errors import InvalidInput
from cycle_engine.scheduler import stalled as stall_queries
from cycle_engine.scheduler.firing import DEFAULT_LATE_AFTER, OPEN, TimerHandlers
from cycle_engine.scheduler.handlers import default_handlers
from cycle_engine.scheduler.health import AllianceHealth, TimerHealth, alliance_health, timer_health
from cycle_engine.scheduler.stalled import OverdueStage, StalledStage
from cycle_engine.scheduler.worker import TickResult, Worker, WorkerSettings
from cycle_engine.store.db import Database
from cycle_engine.store.tables.timers import CLAIMED, PENDING, TimerQueueRecord, TimerRecord
from cycle_engine.store.templates import TemplateStore


class TimerService:
    """Timers, overdue and stalled stages of the engine's database.

    `handlers` holds the handler per timer kind (the built-ins, plus any given); other packages
    register their own kinds with `handlers.register` (notifications: "digest").
    """

    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        templates: TemplateStore,
        changes: Changes,
        handlers: TimerHandlers | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.templates = templates
        self.changes = changes
        self.handlers = handlers or default_handlers()

    def worker(self, *, name: str | None = None, settings: WorkerSettings | None = None) -> Worker:
        """A worker firing this database's due timers (run it once, or forever)."""
        return Worker(self, name=name, settings=settings)

    def overdue(
        self, alliance_id: int | None = None, *, reach: Reach | None = None
    ) -> list[OverdueStage]:
        """Open stages past their deadline (of one alliance, or all; of the cycles in `reach`),
        most overdue first. A stage due exactly now is overdue (see `cycles.listing`)."""
        with self.db.read_session() as session:
            return stall_queries.overdue(session, self.clock.now(), alliance_id, reach)

    def stalled(
        self, alliance_id: int | None = None, *, reach: Reach | None = None
    ) -> list[StalledStage]:
        """Stalled open stages with every reason (no activity, escalated, no focal point), of one
        alliance or all, of the cycles in `reach`."""
        with self.db.read_session() as session:
            return stall_queries.stalled(session, alliance_id, reach)

    def health(self, *, late_after: timedelta = DEFAULT_LATE_AFTER) -> TimerHealth:
        """Timers due, claimed and late now (due longer than `late_after`), and the oldest due."""
        with self.db.read_session() as session:
            return timer_health(session, self.clock.now(), late_after)

    def alliance_health(self) -> list[AllianceHealth]:
        """Stalled and overdue cycles per alliance, now (the meanings `stalled()` and
        `overdue()` use)."""
        with self.db.read_session() as session:
            return alliance_health(session, self.clock.now())

    def run_due_timers(
        self,
        now: datetime | None = None,
        *,
        worker_name: str = "in-process",
        settings: WorkerSettings | None = None,
    ) -> TickResult:
        """Fire every timer due at `now` (default: the clock) in this process; returns counts."""
        return Worker(self, name=worker_name, settings=settings).run_once(now)

    def list_timers(
        self, cycle_id: int | None = None, *, status: str | None = None
    ) -> list[TimerRecord]:
        """Timer rows (of one cycle, in one status), by due time.

        A lease lives in the due-queue, not on the row: a leased timer is shown `claimed`, with
        its lease's holder and end (`lease_owner`, `lease_until`), and is not `pending`.
        """
        queue = TimerQueueRecord.__table__  # type: ignore[attr-defined]
        leased = queue.c.lease_owner.is_not(None)
        query = select(TimerRecord, queue.c.lease_owner, queue.c.due_at).outerjoin(
            queue, queue.c.timer_id == TimerRecord.id
        )
        if cycle_id is not None:
            query = query.where(TimerRecord.cycle_id == cycle_id)
        if status == CLAIMED:
            query = query.where(col(TimerRecord.status).in_(OPEN), leased)
        elif status == PENDING:
            query = query.where(TimerRecord.status == PENDING, ~leased)
        elif status is not None:
            query = query.where(TimerRecord.status == status)
        timers = []
        with self.db.read_session() as session:
            for timer, holder, lease_end in session.exec(
                query.order_by(col(TimerRecord.due_at), col(TimerRecord.id))
            ):
                if holder is not None:
                    for name, value in (
                        ("status", CLAIMED),
                        ("lease_owner", holder),
                        ("lease_until", lease_end),
                    ):
                        set_committed_value(timer, name, value)
                timers.append(timer)
        return timers

    def late_timers(self, *, limit: int = 100) -> list[TimerRecord]:
        """Timers found late (sent late or dropped as stale), newest first."""
        if not 1 <= limit <= 1000:
            raise InvalidInput("limit", f"must be between 1 and 1000, got {limit}")
        query = (
            select(TimerRecord)
            .where(col(TimerRecord.late).is_(True))
            .order_by(col(TimerRecord.fired_at).desc(), col(TimerRecord.id).desc())
            .limit(limit)
        )
        with self.db.read_session() as session:
            return list(session.exec(query))
