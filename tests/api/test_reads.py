"""The reader threads behind `GET /api/v1/cycles/{id}` (`store.reads.Readers`): each read is
its own transaction on a held session, so it sees what was committed before it, keeps nothing
it wrote and no object; a database error costs the thread its session, and the next read opens
a new one (issue 16: a read paid a session and a pool checkout)."""

from __future__ import annotations

import pytest
from sqlalchemy import exc, text
from sqlmodel import Session

from cycle_engine import CycleEngine
from cycle_engine.store.reads import Readers
from cycle_engine.store.tables.access import ApiKeyRecord


def names(session: Session) -> list[str]:
    return list(session.execute(text("SELECT name FROM api_keys ORDER BY id")).scalars())


def test_each_read_sees_the_latest_commit_and_keeps_nothing(engine: CycleEngine) -> None:
    readers = Readers(engine.db, threads=1)
    try:
        first = engine.alliances.credentials.create_key(name="first", role="admin")
        assert readers.submit(names).result() == ["first"]
        engine.alliances.credentials.create_key(name="second", role="admin")
        assert readers.submit(names).result() == ["first", "second"]

        def write_and_load(session: Session) -> int:
            session.execute(text("UPDATE api_keys SET name = 'changed'"))
            loaded = session.get(ApiKeyRecord, first.record.id)
            assert loaded is not None  # held here: the identity map keeps objects weakly
            return len(session.identity_map)

        assert readers.submit(write_and_load).result() == 1
        kept = readers.submit(lambda s: list(s.identity_map.values())).result()
        assert kept == []  # the object loaded above was let go with its read
        assert readers.submit(names).result() == ["first", "second"]
    finally:
        readers.close()


def test_a_database_error_drops_the_session_and_the_next_read_opens_one(
    engine: CycleEngine,
) -> None:
    readers = Readers(engine.db, threads=1)
    try:
        first = readers.submit(lambda s: s).result()
        with pytest.raises(exc.DBAPIError):
            readers.submit(lambda s: s.execute(text("SELECT * FROM no_such_table"))).result()
        second = readers.submit(lambda s: s).result()
        assert second is not first
        assert readers.submit(lambda s: s.execute(text("SELECT 1")).scalar()).result() == 1
        assert readers.submit(lambda s: s).result() is second
    finally:
        readers.close()
