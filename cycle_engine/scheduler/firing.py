"""Firing one claimed timer in its own transaction: lock, decide, record, mark.

The cycle row is locked first (the same order commands use, so no deadlock), then the timer row;
a timer is fired only while it is still claimed by this worker, so a second firing of the same
row (a retry, a worker whose lease was taken over) has no effect. The handler for the timer's
kind appends the event and calls the engine's listeners with a `Change`, so the outbox listener
enqueues mail in the same commit. A timer found later than `late_after` past its time is marked
late and reported with a `timer_late` event, whether the handler sends it or drops it.
Handlers are looked up per kind in a `TimerHandlers` registry; the notifications package
registers "digest".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy import LABEL_STYLE_TABLENAME_PLUS_COL, Table, bindparam, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from cycle_engine.actors import Actor
from cycle_engine.changes import Change, Changes
from cycle_engine.clock import Clock
from cycle_engine.errors import TimerHandlerNotFound
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.store.db import Database
from cycle_engine.store.events import (
    adopt,
    append_event,
    current_visit,
    keep_loaded,
    lock_cycle,
    save_columns,
)
from cycle_engine.store.prepared import Prepared, fetch_one, run
from cycle_engine.store.tables import CycleRecord, EventRecord, StageRecord
from cycle_engine.store.tables.timers import (
    CLAIMED,
    DROPPED,
    FIRED,
    PENDING,
    TimerQueueRecord,
    TimerRecord,
)
from cycle_engine.store.tables.types import UTCDateTime
from cycle_engine.store.templates import TemplateStore

SCHEDULER = Actor(name="scheduler", role="system")
DEFAULT_LATE_AFTER = timedelta(minutes=15)
#: Outcome of a firing whose row was no longer ours (taken over, cancelled, already fired).
SKIPPED = "skipped"

_TIMERS: Table = TimerRecord.__table__  # type: ignore[attr-defined]
_VISITS: Table = StageRecord.__table__  # type: ignore[attr-defined]
_TIMER_COLUMNS = [column.name for column in _TIMERS.columns]
_VISIT_COLUMNS = [column.name for column in _VISITS.columns]
#: A timer still to fire: pending, or claimed (a lease taken before the due-queue existed).
OPEN = (PENDING, CLAIMED)
_QUEUE: Table = TimerQueueRecord.__table__  # type: ignore[attr-defined]
#: The timer row, locked, with who holds its lease (its due-queue row) and its stage visit.
_LOCK_TIMER = (
    sa_select(*_TIMERS.columns, _QUEUE.c.lease_owner, *_VISITS.columns)
    .select_from(
        _TIMERS.outerjoin(_QUEUE, _QUEUE.c.timer_id == _TIMERS.c.id).outerjoin(
            _VISITS, _VISITS.c.id == _TIMERS.c.stage_visit_id
        )
    )
    .where(_TIMERS.c.id == bindparam("timer_id"))
    .with_for_update(of=_TIMERS)
    .set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL)
)
_LOCK_TIMER_PREPARED = Prepared(_LOCK_TIMER)


class FiringHost(Protocol):
    """What firing and workers need: the store, the clock, template specs, where changes go
    and the handler per timer kind (`TimerService` is one)."""

    db: Database
    clock: Clock
    templates: TemplateStore
    changes: Changes
    handlers: TimerHandlers


@dataclass(frozen=True)
class Verdict:
    """A handler's decision: the row's final status (fired, dropped, cancelled) and why."""

    status: str
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class FireOutcome:
    timer_id: int
    kind: str
    status: str
    late: bool = False
    reason: str = ""


@dataclass(kw_only=True)
class TimerFiring:
    """Everything a handler sees: the locked timer and cycle, `now`, whether it is late."""

    session: Session
    timer: TimerRecord
    cycle: CycleRecord | None
    now: datetime
    late: bool
    host: FiringHost

    def spec(self) -> TemplateSpec:
        assert self.cycle is not None
        return self.host.templates.spec(self.session, self.cycle.template_id)

    def open_visit(self) -> StageRecord | None:
        """The timer's stage visit if it is still the cycle's current, open visit."""
        if self.cycle is None or self.timer.stage_visit_id is None:
            return None
        if self.cycle.current_stage_id != self.timer.stage_visit_id:
            return None
        visit = current_visit(self.session, self.cycle)
        return visit if visit is not None and visit.left_at is None else None

    def timer_data(self) -> dict[str, Any]:
        timer = self.timer
        return {
            "timer_id": timer.id,
            "timer_kind": timer.kind,
            "dedupe_key": timer.dedupe_key,
            "stage": timer.stage,
            "stage_visit_id": timer.stage_visit_id,
            "rule": timer.rule,
            "occurrence": timer.occurrence,
            "timer_due_at": timer.due_at.isoformat(),
            "late": self.late,
        }

    def record(self, kind: str, data: dict[str, Any] | None = None) -> EventRecord:
        """Append a scheduler event to the cycle and hand it to the engine's listeners."""
        assert self.cycle is not None
        event = append_event(
            self.session,
            self.cycle,
            kind=kind,
            actor=SCHEDULER,
            now=self.now,
            data={**self.timer_data(), **(data or {})},
        )
        self.session.flush()
        change = Change(
            session=self.session,
            cycle=self.cycle,
            spec=self.spec(),
            event=event,
            actor=SCHEDULER,
            now=self.now,
        )
        self.host.changes.record(change)
        return event


TimerHandler = Callable[[TimerFiring], Verdict]


class TimerHandlers:
    """Which handler fires which timer kind."""

    def __init__(self, handlers: dict[str, TimerHandler] | None = None) -> None:
        self._handlers: dict[str, TimerHandler] = dict(handlers or {})

    def register(self, kind: str, handler: TimerHandler) -> None:
        """Fire timers of `kind` with `handler` (replaces an earlier one)."""
        self._handlers[kind] = handler

    def get(self, kind: str) -> TimerHandler:
        """The handler for `kind`; raises TimerHandlerNotFound."""
        try:
            return self._handlers[kind]
        except KeyError:
            raise TimerHandlerNotFound(kind) from None

    def kinds(self) -> tuple[str, ...]:
        return tuple(sorted(self._handlers))


def fire_timer(
    db: Database,
    host: FiringHost,
    handlers: TimerHandlers,
    timer_id: int,
    owner: str,
    now: datetime,
    *,
    late_after: timedelta = DEFAULT_LATE_AFTER,
    cycle_id: int | Literal["?"] | None = "?",
) -> FireOutcome:
    """Fire one timer claimed by `owner` in its own transaction; idempotent.

    `cycle_id` (from the claim) saves a look-up; the cycle is locked before the timer.
    Returns the outcome; `status` is "skipped" when the row is no longer this worker's to fire.
    Raises whatever the handler raises (the transaction is rolled back; see `record_failure`).
    """
    with db.transaction() as session:
        if cycle_id == "?":
            cycle_id = session.exec(
                select(TimerRecord.cycle_id).where(TimerRecord.id == timer_id)
            ).first()
        cycle = lock_cycle(session, cycle_id) if isinstance(cycle_id, int) else None
        locked = _lock_timer(session, timer_id)
        if locked is None:
            return FireOutcome(timer_id=timer_id, kind="?", status=SKIPPED, reason="no such timer")
        timer, holder = locked
        kind = timer.kind
        if timer.status not in OPEN or holder != owner:
            return FireOutcome(
                timer_id=timer_id,
                kind=kind,
                status=SKIPPED,
                reason=f"timer is {timer.status}, leased to {holder}",
            )
        late = now > timer.due_at + late_after
        firing = TimerFiring(
            session=session, timer=timer, cycle=cycle, now=now, late=late, host=host
        )
        verdict = handlers.get(kind)(firing)
        if late and cycle is not None and verdict.status in (FIRED, DROPPED):
            firing.record(
                "timer_late",
                {
                    "action": "sent_late" if verdict.status == FIRED else "dropped",
                    "reason": verdict.reason,
                    "found_at": now.isoformat(),
                    "late_by_seconds": int((now - timer.due_at).total_seconds()),
                },
            )
        values: dict[str, Any] = {
            "status": verdict.status,
            "fired_at": now,
            "late": late,
            "lease_until": None,
        }
        if verdict.reason:
            values["payload"] = {**timer.payload, "outcome": verdict.reason}
        save_columns(session, timer, values)
        return FireOutcome(
            timer_id=timer_id, kind=kind, status=verdict.status, late=late, reason=verdict.reason
        )


def _lock_timer(session: Session, timer_id: int) -> tuple[TimerRecord, str | None] | None:
    """The timer row, locked, read fresh, and who holds its lease; its stage visit comes along
    in the same query.

    The cycle is already locked, and every change to a stage visit holds its cycle's lock, so
    the visit read here is current even if this query waited for the timer's lock.
    """
    row = fetch_one(session, _LOCK_TIMER_PREPARED, {"timer_id": timer_id})
    if row is None:
        return None
    width = len(_TIMER_COLUMNS)
    timer = adopt(
        session, TimerRecord, dict(zip(_TIMER_COLUMNS, row[:width], strict=True)), refresh=True
    )
    holder: str | None = row[width]
    if row[width + 1] is not None:
        visit = dict(zip(_VISIT_COLUMNS, row[width + 1 :], strict=True))
        keep_loaded(session, adopt(session, StageRecord, visit))
    return timer, holder


def record_failure(
    db: Database,
    timer_id: int,
    owner: str,
    now: datetime,
    error: BaseException,
    *,
    retry_after: timedelta,
    max_attempts: int,
) -> bool:
    """Note a failed firing: retry after a back-off (the lease) or, after `max_attempts`, drop.

    Returns True when the timer was dropped for good.
    """
    with db.transaction() as session:
        locked = _lock_timer(session, timer_id)
        if locked is None or locked[0].status not in OPEN or locked[1] != owner:
            return False
        timer = locked[0]
        timer.attempts += 1
        timer.last_error = f"{type(error).__name__}: {error}"[:1000]
        dropped = timer.attempts >= max_attempts
        if dropped:  # no longer open: the trigger takes it out of the due-queue
            timer.status = DROPPED
            timer.fired_at = now
            timer.lease_until = None
        else:  # still leased to `owner` until the back-off ends, then due again
            retry_at = now + retry_after * min(2 ** (timer.attempts - 1), 8)
            run(session, _BACK_OFF, {"queued_id": timer_id, "due": retry_at})
        session.add(timer)
        return dropped


_BACK_OFF = Prepared(
    update(_QUEUE)
    .where(_QUEUE.c.timer_id == bindparam("queued_id"))
    .values(due_at=bindparam("due", type_=UTCDateTime()))
)
