"""Keys the database enforces: dedupe keys make a second copy of a timer, an email or an
idempotent command impossible, and foreign keys refuse rows naming what does not exist."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, select

from cycle_engine import CycleEngine
from cycle_engine.store.tables import IdempotencyRecord
from cycle_engine.store.tables.access import ApiKeyRecord, WebhookSubscriptionRecord
from cycle_engine.store.tables.dashboard import DashboardSessionRecord
from cycle_engine.store.tables.outbox import NotificationPreferenceRecord, OutboxRecord
from cycle_engine.store.tables.timers import TimerRecord
from tests.cycle_engine.pilot import PILOT

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
MISSING = 4040
KEY = "1:draft(1):kickoff:1:ana@example.org"
OTHER_KEY = "1:draft(1):kickoff:2:ana@example.org"
Make = Callable[[str], SQLModel]


def timer(dedupe_key: str, person_id: int | None = None) -> TimerRecord:
    return TimerRecord(
        kind="digest",
        rule="weekly_digest",
        due_at=NOW,
        created_at=NOW,
        dedupe_key=dedupe_key,
        person_id=person_id,
    )


def email(
    dedupe_key: str, *, person_id: int | None = None, cycle_id: int | None = None
) -> OutboxRecord:
    return OutboxRecord(
        kind="reminder",
        recipient="ana@example.org",
        dedupe_key=dedupe_key,
        message_id=f"<{len(dedupe_key)}@example.org>",
        not_before=NOW,
        next_attempt_at=NOW,
        created_at=NOW,
        person_id=person_id,
        cycle_id=cycle_id,
    )


def command(key: str) -> IdempotencyRecord:
    return IdempotencyRecord(key=key, command="fire", created_at=NOW)


def count(engine: CycleEngine, model: type[SQLModel]) -> int:
    with engine.db.read_session() as session:
        return session.exec(select(func.count()).select_from(model)).one()


def add_rows(engine: CycleEngine, *rows: SQLModel) -> None:
    """Add `rows` in one transaction, flushing each in turn."""
    with engine.db.transaction() as session:
        for row in rows:
            session.add(row)
            session.flush()


@pytest.mark.parametrize(
    ("model", "make"),
    [(TimerRecord, timer), (OutboxRecord, email), (IdempotencyRecord, command)],
    ids=["timer", "outbox", "idempotency"],
)
def test_second_row_with_a_dedupe_key_is_refused_with_its_transaction(
    engine: CycleEngine, model: type[SQLModel], make: Make
) -> None:
    """The same dedupe key twice: the database refuses the second row, and the transaction that
    tried it keeps none of its rows."""
    add_rows(engine, make(KEY))
    with pytest.raises(IntegrityError):
        add_rows(engine, make(OTHER_KEY), make(KEY))
    assert count(engine, model) == 1


def test_repeated_idempotent_command_gives_the_first_result(engine: CycleEngine) -> None:
    """A command repeated with its idempotency key answers as the first time and adds nothing."""
    engine.templates.publish(PILOT, "pilot.yaml")
    cycle_id = engine.start_cycle("pilot", "Seed systems", standalone=True).id or 0
    first = engine.fire(cycle_id, "submit", idempotency_key="submit-once")
    again = engine.fire(cycle_id, "submit", idempotency_key="submit-once")
    assert (again.event_id, again.to_state) == (first.event_id, "review")
    assert [e.kind for e in engine.history(cycle_id)] == ["started", "transition"]


MISSING_REFERENCES: dict[str, Callable[[], SQLModel]] = {
    "api-key-organisation": lambda: ApiKeyRecord(
        prefix="0a1b2c3d",
        hash="0" * 64,
        name="partner key",
        role="partner",
        organisation_id=MISSING,
        created_at=NOW,
    ),
    "webhook-alliance": lambda: WebhookSubscriptionRecord(
        alliance_id=MISSING, url="https://hooks.example.org", secret="s" * 32, created_at=NOW
    ),
    "dashboard-person": lambda: DashboardSessionRecord(
        key_hash="b" * 64, person_id=MISSING, created_at=NOW, expires_at=NOW, last_seen_at=NOW
    ),
    "preferences-person": lambda: NotificationPreferenceRecord(person_id=MISSING, updated_at=NOW),
    "outbox-person": lambda: email(KEY, person_id=MISSING),
    "outbox-cycle": lambda: email(KEY, cycle_id=MISSING),
    "timer-person": lambda: timer(KEY, person_id=MISSING),
    "command-cycle": lambda: IdempotencyRecord(
        key=KEY, command="fire", cycle_id=MISSING, created_at=NOW
    ),
}


@pytest.mark.parametrize("make", MISSING_REFERENCES.values(), ids=MISSING_REFERENCES.keys())
def test_row_naming_a_missing_row_is_refused(
    engine: CycleEngine, make: Callable[[], SQLModel]
) -> None:
    """Rows of every area name people, alliances, organisations and cycles that exist."""
    with pytest.raises(IntegrityError, match=r"(?i)foreign key"):
        add_rows(engine, make())
