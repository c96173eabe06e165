"""Listeners and subscribers, the two ways the budget desk hears about changes.

`AuditTrail` is a listener: it runs inside the command's transaction and writes the desk's audit
row there, so the row commits with the change or not at all. `CommittedChanges` is a subscriber:
it runs once the transaction committed, so what it sees (here, the audit row, read through the
desk's own connection) is durable; it could refresh a cache or push to a websocket.
"""

from __future__ import annotations

from dataclasses import dataclass

from cycle_engine import Change

from api.budgets import BudgetBook, audit_log


class AuditTrail:
    """A listener: adds the desk's audit row to the command's transaction (never commits)."""

    def on_change(self, change: Change) -> None:
        change.session.connection().execute(
            audit_log.insert().values(
                cycle_id=change.cycle.id,
                seq=change.event.seq,
                kind=change.event.kind,
                to_state=change.event.to_state,
                at=change.now,
            )
        )


@dataclass(frozen=True)
class SeenChange:
    """What the subscriber was told, and whether the change was already committed then."""

    cycle_id: int
    kind: str
    trigger: str | None
    to_state: str | None
    committed: bool


class CommittedChanges:
    """A subscriber: records every change after its transaction committed."""

    def __init__(self, book: BudgetBook) -> None:
        self.book = book
        self.seen: list[SeenChange] = []

    def after_commit(self, change: Change) -> None:
        cycle_id = change.cycle.id
        assert cycle_id is not None
        self.seen.append(
            SeenChange(
                cycle_id=cycle_id,
                kind=change.event.kind,
                trigger=change.event.trigger,
                to_state=change.event.to_state,
                committed=self.book.audited(cycle_id, change.event.seq),
            )
        )
