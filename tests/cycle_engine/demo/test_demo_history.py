"""The demo's past does not flood anyone (issue 14): the first `make run` used to send about
seventy "stage completed" emails about events months old, in the same minute."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from cycle_engine import CycleEngine
from cycle_engine.clock import as_utc
from cycle_engine.demo import run_demo
from cycle_engine.demo.history import settle_demo_history
from cycle_engine.store.tables.outbox import PENDING, SENT, SUPPRESSED, OutboxRecord
from cycle_engine.testing import ManualClock


def _row(number: int, created: object, status: str = PENDING) -> OutboxRecord:
    return OutboxRecord(
        kind="stage_completed",
        recipient=f"person{number}@example.org",
        dedupe_key=f"demo-history-test-{number}",
        message_id=f"<m{number}@example.org>",
        not_before=created,
        next_attempt_at=created,
        created_at=created,
        status=status,
    )


def test_only_pending_notices_older_than_the_cutoff_are_held(
    engine: CycleEngine, clock: ManualClock
) -> None:
    """Old pending rows become suppressed with the reason; sent and recent rows stay."""
    now = clock.now()
    with engine.db.transaction() as session:
        session.add(_row(1, now - timedelta(days=90)))
        session.add(_row(2, now - timedelta(days=90), status=SENT))
        session.add(_row(3, now - timedelta(hours=2)))
    assert settle_demo_history(engine, now - timedelta(days=1)) == 1
    with engine.db.read_session() as session:
        rows = {r.recipient: r for r in session.exec(select(OutboxRecord))}
    old = rows["person1@example.org"]
    assert old.status == SUPPRESSED
    assert old.last_error is not None and old.last_error.startswith("demo history:")
    assert "not sent" in old.last_error
    assert rows["person2@example.org"].status == SENT
    assert rows["person3@example.org"].status == PENDING


@pytest.mark.slow
def test_demo_leaves_no_old_notice_to_send(db_url: str, tmp_path: Path) -> None:
    """After `run_demo`, nothing dated more than a day ago is waiting to be sent, and the held
    notices say why in the mail log's reason column."""
    lines: list[str] = []
    run_demo(db_url, lines.append, data_dir=tmp_path / "data")
    held_line = next(line for line in lines if "kept as history" in line)
    with CycleEngine(db_url) as engine:
        cutoff = engine.clock.now() - timedelta(days=1)
        with engine.db.read_session() as session:
            rows = session.exec(select(OutboxRecord)).all()
    old_pending = [r for r in rows if r.status == PENDING and as_utc(r.created_at) < cutoff]
    assert old_pending == []
    history = [r for r in rows if (r.last_error or "").startswith("demo history:")]
    assert len(history) >= 50
    assert held_line.startswith(f"{len(history)} notices about the demo's past")
