"""The fast write path: the cycle lock serialises writers of one cycle, each history line takes
the cycle's next version as its sequence number, and a stale version is refused."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import IntegrityError

from cycle_engine import SYSTEM, ConflictError, CycleEngine, CycleNotFound
from cycle_engine.store.events import append_event, lock_cycle
from cycle_engine.store.tables import EventRecord
from tests.cycle_engine.pilot import PILOT

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def cycle_id(engine: CycleEngine) -> int:
    engine.templates.publish(PILOT, "pilot.yaml")
    cycle = engine.start_cycle("pilot", "Seed systems", standalone=True)
    assert cycle.id is not None
    return cycle.id


def append_note(engine: CycleEngine, cycle_id: int, note: str) -> EventRecord:
    with engine.db.transaction() as session:
        cycle = lock_cycle(session, cycle_id)
        return append_event(session, cycle, kind="note", actor=SYSTEM, now=NOW, note=note)


def test_append_event_numbers_lines_by_the_cycle_version(
    engine: CycleEngine, cycle_id: int
) -> None:
    """Each appended line bumps the cycle's version and carries it as its sequence number."""
    start = engine.get_cycle(cycle_id).version
    events = [append_note(engine, cycle_id, note) for note in ("one", "two", "three")]
    assert [e.seq for e in events] == [start + 1, start + 2, start + 3]
    assert all(e.id is not None for e in events)
    assert engine.get_cycle(cycle_id).version == start + 3
    history = engine.history(cycle_id)
    assert [e.seq for e in history] == list(range(1, start + 4))
    assert [e.note for e in history[-3:]] == ["one", "two", "three"]


def test_sequence_number_is_unique_per_cycle(engine: CycleEngine, cycle_id: int) -> None:
    """A second line with a sequence number the cycle already has is refused by the database."""
    taken = engine.history(cycle_id)[-1].seq
    with pytest.raises(IntegrityError), engine.db.transaction() as session:
        session.add(EventRecord(cycle_id=cycle_id, seq=taken, at=NOW, actor="system", kind="note"))
    assert [e.seq for e in engine.history(cycle_id)] == list(range(1, taken + 1))


def test_lock_of_unknown_cycle_is_not_found(engine: CycleEngine) -> None:
    """Locking a cycle that does not exist names it."""
    with pytest.raises(CycleNotFound, match="cycle 404"), engine.db.transaction() as session:
        lock_cycle(session, 404)


def test_second_writer_waits_for_the_lock_and_sees_the_first_ones_version(
    engine: CycleEngine, cycle_id: int
) -> None:
    """While one transaction holds the cycle, another writer of it waits; once the first commits,
    the second reads the new version, so no two lines share a sequence number."""
    start = engine.get_cycle(cycle_id).version
    finished = threading.Event()
    outcome: dict[str, object] = {}

    def second_writer() -> None:
        try:
            outcome["seq"] = append_note(engine, cycle_id, "second").seq
        except Exception as error:  # reported to the test below
            outcome["error"] = error
        finally:
            finished.set()

    with engine.db.transaction() as session:
        cycle = lock_cycle(session, cycle_id)
        first = append_event(session, cycle, kind="note", actor=SYSTEM, now=NOW, note="first")
        writer = threading.Thread(target=second_writer)
        writer.start()
        assert not finished.wait(0.5), "the second writer did not wait for the lock"
    writer.join(timeout=30)
    assert "error" not in outcome, outcome
    assert (first.seq, outcome["seq"]) == (start + 1, start + 2)
    assert [e.note for e in engine.history(cycle_id)[-2:]] == ["first", "second"]


def test_stale_expected_version_is_a_conflict_and_changes_nothing(
    engine: CycleEngine, cycle_id: int
) -> None:
    """A command made against a version someone else moved on from is refused with both
    versions, and leaves the cycle and its history as they were."""
    read = engine.get_cycle(cycle_id).version
    append_note(engine, cycle_id, "someone else")
    before = engine.history(cycle_id)
    with pytest.raises(ConflictError) as refused:
        engine.fire(cycle_id, "submit", expected_version=read)
    assert (refused.value.expected, refused.value.actual) == (read, read + 1)
    assert engine.get_cycle(cycle_id).state == "draft"
    assert [e.id for e in engine.history(cycle_id)] == [e.id for e in before]
    assert engine.fire(cycle_id, "submit", expected_version=read + 1).to_state == "review"
