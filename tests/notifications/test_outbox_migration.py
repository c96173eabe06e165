"""Revision 0009 on a database of the previous release: waiting rows get their expiry, rows the
old fixed retry count gave up on wait again, and what failed for good stays failed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import select

from cycle_engine.store.db import Database
from cycle_engine.store.schema import upgrade
from cycle_engine.store.tables.outbox import OutboxRecord
from cycle_engine.store.tables.types import JSONType, UTCDateTime
from cycle_engine.testing_db import PostgresFactory, SqliteFactory

CREATED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DUE = CREATED + timedelta(days=3)
OLD = sa.table(
    "outbox",
    *(
        sa.column(name)
        for name in (
            "channel",
            "kind",
            "rule",
            "occurrence",
            "recipient",
            "language",
            "dedupe_key",
            "message_id",
            "delivery",
            "status",
            "attempts",
            "last_error",
            "digest_id",
        )
    ),
    sa.column("id", sa.Integer()),
    sa.column("context", JSONType),
    *(
        sa.column(name, UTCDateTime())
        for name in ("not_before", "next_attempt_at", "created_at", "sent_at")
    ),
)


@pytest.fixture(params=["sqlite", "postgresql"])
def release_0008(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_factory: SqliteFactory,
    postgres_factory: PostgresFactory | None,
) -> Iterator[str]:
    """A database at revision 0008, as the previous release left it."""
    if request.param == "sqlite":
        url = sqlite_factory.new(tmp_path, empty=True)
    elif postgres_factory is None:
        pytest.skip("set CYCLE_ENGINE_TEST_POSTGRES_URL to run on PostgreSQL")
    else:
        url = postgres_factory.new(empty=True)
    upgrade(url, "0008_foreign_keys")
    yield url
    if request.param == "postgresql" and postgres_factory is not None:
        postgres_factory.drop(url)


def old_row(key: str, kind: str, status: str, **values: Any) -> dict[str, Any]:
    return {
        "channel": "email",
        "kind": kind,
        "rule": key,
        "occurrence": 0,
        "recipient": f"{key}@example.org",
        "language": "en",
        "dedupe_key": key,
        "message_id": f"<{key}@test>",
        "delivery": "immediate",
        "status": status,
        "attempts": 8 if status == "failed" else 0,
        "last_error": None,
        "digest_id": None,
        "context": {"stage": {"due_at": DUE.isoformat()}},
        "not_before": CREATED,
        "next_attempt_at": CREATED,
        "created_at": CREATED,
        "sent_at": None,
        **values,
    }


def test_upgrade_gives_waiting_rows_an_expiry_and_requeues_given_up_ones(
    release_0008: str,
) -> None:
    """A reminder the old sender gave up on waits again until its step's deadline; a digest it
    gave up on waits again, its notices still folded in it; a waiting webhook gets seven days;
    a 550 stays failed and a sent row stays as it was."""
    gave_up = "gave up after 8 attempts: 451 4.3.0 try again later"
    database = Database(release_0008)
    try:
        with database.engine.begin() as connection:
            connection.execute(
                sa.insert(OLD),
                [
                    old_row("reminder", "reminder", "failed", last_error=gave_up),
                    old_row("started", "stage_started", "pending"),
                    old_row("hook", "stage.entered", "pending", channel="webhook", context={}),
                    old_row("refused", "overdue", "failed", last_error="550 5.1.1 no such user"),
                    old_row("sent", "reminder", "sent", sent_at=CREATED),
                    old_row("digest", "digest", "failed", last_error=gave_up, context={}),
                ],
            )
            digest_id = connection.execute(
                sa.select(OLD.c.id).where(OLD.c.dedupe_key == "digest")
            ).scalar_one()
            connection.execute(
                sa.insert(OLD),
                [
                    old_row(f"note{n}", "marked_done", "digested", digest_id=digest_id)
                    for n in range(2)
                ],
            )
        upgrade(release_0008)
        with database.read_session() as session:
            rows = {r.dedupe_key: r for r in session.exec(select(OutboxRecord))}
    finally:
        database.dispose()
    month = CREATED + timedelta(days=30)
    assert {key: (r.status, r.expires_at) for key, r in rows.items()} == {
        "reminder": ("pending", DUE),
        "started": ("pending", DUE),
        "hook": ("pending", CREATED + timedelta(days=7)),
        "refused": ("failed", None),
        "sent": ("sent", None),
        "digest": ("pending", month),
        "note0": ("digested", None),
        "note1": ("digested", None),
    }
    assert {(r.attempts, r.possible_duplicate, r.reply) for r in rows.values()} >= {
        (8, False, None)
    }
    assert rows["reminder"].last_error == gave_up  # the history stays readable
