"""What a command changed, handed to listeners inside the transaction and to subscribers after it.

Listeners (the scheduler's timers, the outbox) add their own rows to the command's session; they
never commit. So a transition, its event, its timers and its emails commit together or not at
all. Subscribers are told after the transaction committed (a host refreshing a cache, pushing to
a websocket); what they do cannot undo the command, and an exception in one is logged, not
raised, because the change is already durable. A subscriber that also has `after_refusal` is
told of each fire the engine refused (nothing was written), so metrics count blocked fires too.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Protocol, runtime_checkable

from sqlmodel import Session

from cycle_engine.actors import Actor
from cycle_engine.errors import ConflictError, TransitionNotAllowed
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.store.db import after_commit
from cycle_engine.store.tables import CycleRecord, EventRecord, StageRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Change:
    """One recorded event and the stage visits it closed or opened."""

    session: Session
    cycle: CycleRecord
    spec: TemplateSpec
    event: EventRecord
    actor: Actor
    now: datetime
    left: StageRecord | None = None
    entered: StageRecord | None = None


class ChangeListener(Protocol):
    """Adds rows that follow from a change; must not commit."""

    def on_change(self, change: Change) -> None: ...


class ChangeSubscriber(Protocol):
    """Told after the command's transaction committed; its session is closed by then."""

    def after_commit(self, change: Change) -> None: ...


@dataclass(frozen=True, kw_only=True)
class Refusal:
    """A fire the engine refused; its transaction rolled back, so nothing changed.

    `kind`: "guard", "role", "stage" (the caller may not act on the stage), "unknown_trigger"
    or "conflict" (a stale expected version).
    """

    cycle_id: int
    trigger: str
    kind: str
    reasons: tuple[str, ...] = ()

    @classmethod
    def of(
        cls, error: TransitionNotAllowed | ConflictError, *, cycle_id: int, trigger: str
    ) -> Refusal:
        """The refusal `error` stands for."""
        if isinstance(error, TransitionNotAllowed):
            return cls(cycle_id=cycle_id, trigger=trigger, kind=error.kind, reasons=error.reasons)
        return cls(cycle_id=cycle_id, trigger=trigger, kind="conflict", reasons=(str(error),))


@runtime_checkable
class RefusalSubscriber(Protocol):
    """A subscriber that also wants to hear of refused fires."""

    def after_refusal(self, refusal: Refusal) -> None: ...


class Changes:
    """Where every command hands what it changed: listeners at once, subscribers after commit.

    Args:
        listeners: run inside the command's transaction, in order; they may add rows and must
            not commit. An exception from one rolls the whole command back.
        subscribers: run once the transaction committed, in order, with each change; an
            exception from one is logged and the others still run (the change is durable).
    """

    def __init__(
        self,
        listeners: Sequence[ChangeListener] = (),
        subscribers: Sequence[ChangeSubscriber] = (),
    ) -> None:
        self.listeners: tuple[ChangeListener, ...] = tuple(listeners)
        self.subscribers: tuple[ChangeSubscriber, ...] = tuple(subscribers)

    def record(self, change: Change) -> None:
        """Hand `change` to every listener now, and to every subscriber after commit."""
        for listener in self.listeners:
            listener.on_change(change)
        if self.subscribers:
            after_commit(change.session, partial(self._publish, change))

    def refused(self, refusal: Refusal) -> None:
        """Tell the subscribers that have `after_refusal` of a refused fire; never raises."""
        for subscriber in self.subscribers:
            if not isinstance(subscriber, RefusalSubscriber):
                continue
            try:
                subscriber.after_refusal(refusal)
            except Exception:
                log.exception("refusal subscriber %r failed", subscriber)

    def _publish(self, change: Change) -> None:
        for subscriber in self.subscribers:
            try:
                subscriber.after_commit(change)
            except Exception:
                log.exception("after-commit subscriber %r failed", subscriber)
