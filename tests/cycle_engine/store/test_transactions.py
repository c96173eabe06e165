"""`Database.transaction()` commits all or nothing, and after-commit callbacks run only once the
commit succeeded (never on rollback); reads never hold the write lock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from cycle_engine.store.db import Database, after_commit
from cycle_engine.store.tables.alliances import AllianceRecord

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    db = Database(db_url)
    yield db
    db.dispose()


def alliance(name: str) -> AllianceRecord:
    return AllianceRecord(name=name, theme="Rural enterprise development", created_at=NOW)


def names(database: Database) -> list[str]:
    with database.read_session() as session:
        return list(session.exec(select(AllianceRecord.name).order_by(AllianceRecord.name)))


class Refused(Exception):
    """Raised inside a transaction to abandon it."""


def test_transaction_commits_every_row_together(database: Database) -> None:
    """Rows added in one transaction are all there once it ends."""
    with database.transaction() as session:
        session.add(alliance("Andes"))
        session.add(alliance("Mesoamerica"))
    assert names(database) == ["Andes", "Mesoamerica"]


def test_error_in_transaction_keeps_none_of_its_rows(database: Database) -> None:
    """An error after some rows were flushed rolls all of them back and propagates."""

    def add_two_then_fail() -> None:
        with database.transaction() as session:
            session.add(alliance("Andes"))
            session.flush()
            session.add(alliance("Mesoamerica"))
            session.flush()
            raise Refused

    with pytest.raises(Refused):
        add_two_then_fail()
    assert names(database) == []


def test_database_error_rolls_back_the_whole_transaction(database: Database) -> None:
    """A unique violation in the second statement also undoes the first one."""
    with database.transaction() as session:
        session.add(alliance("Andes"))

    def add_new_then_duplicate() -> None:
        with database.transaction() as session:
            session.add(alliance("Mesoamerica"))
            session.flush()
            session.add(alliance("Andes"))

    with pytest.raises(IntegrityError):
        add_new_then_duplicate()
    assert names(database) == ["Andes"]


def test_after_commit_callbacks_run_after_the_commit_in_order(database: Database) -> None:
    """Callbacks run once the rows are visible to other sessions, in registration order."""
    seen: list[tuple[str, list[str]]] = []

    def record(label: str) -> None:
        seen.append((label, names(database)))  # a separate session: sees committed rows only

    with database.transaction() as session:
        session.add(alliance("Andes"))
        after_commit(session, lambda: record("first"))
        after_commit(session, lambda: record("second"))
        session.flush()
        assert seen == []
    assert seen == [("first", ["Andes"]), ("second", ["Andes"])]


def test_after_commit_callbacks_never_run_on_rollback(database: Database) -> None:
    """A transaction that fails drops its callbacks; the next transaction starts clean."""
    seen: list[str] = []

    def register_then_fail() -> None:
        with database.transaction() as session:
            after_commit(session, lambda: seen.append("rolled back"))
            raise Refused

    with pytest.raises(Refused):
        register_then_fail()
    with database.transaction() as session:
        after_commit(session, lambda: seen.append("committed"))
    assert seen == ["committed"]


def test_after_commit_callback_sees_no_open_transaction(database: Database) -> None:
    """A callback may open its own transaction (the first one has ended)."""

    def follow_up() -> None:
        with database.transaction() as session:
            session.add(alliance("Follow-up"))

    with database.transaction() as session:
        session.add(alliance("Andes"))
        after_commit(session, follow_up)
    assert names(database) == ["Andes", "Follow-up"]


def test_read_session_runs_while_a_writer_holds_its_transaction(database: Database) -> None:
    """A reader does not wait for an open write transaction, and sees only committed rows."""
    with database.transaction() as session:
        session.add(alliance("Andes"))
    with database.transaction() as writer:
        writer.add(alliance("Mesoamerica"))
        writer.flush()
        with database.read_session() as reader:
            assert reader.exec(select(func.count()).select_from(AllianceRecord)).one() == 1
    assert names(database) == ["Andes", "Mesoamerica"]
