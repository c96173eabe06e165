"""What a command changed, handed to listeners inside the same transaction.

Listeners (the scheduler's timers, the notification outbox, webhooks) add their own rows to the
command's session; they never commit. So a transition, its event, its timers and its emails
commit together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlmodel import Session

from cycle_engine.actors import Actor
from cycle_engine.models import CycleRecord, EventRecord, StageRecord
from cycle_engine.templates.spec import TemplateSpec


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


def append_event(
    session: Session,
    cycle: CycleRecord,
    *,
    kind: str,
    actor: Actor,
    now: datetime,
    trigger: str | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> EventRecord:
    """Bump the cycle's version and add the history line carrying it (does not commit)."""
    assert cycle.id is not None
    cycle.version += 1
    cycle.updated_at = now
    event = EventRecord(
        cycle_id=cycle.id,
        seq=cycle.version,
        at=now,
        actor=actor.name,
        kind=kind,
        trigger=trigger,
        from_state=from_state,
        to_state=to_state,
        note=note,
        data=data or {},
    )
    session.add(cycle)
    session.add(event)
    return event
