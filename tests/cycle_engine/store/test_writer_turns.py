"""SQLite writers of one process take turns first come, first served (`store.turns`): a writer
that releases and asks again at once goes behind those already waiting, and a thread holding
its turn passes straight through when it asks again (issue 16: writers starved under load)."""

from __future__ import annotations

import threading
import time

import pytest

from cycle_engine.store.turns import WriterTurns


def _wait_until_waiting(turns: WriterTurns, count: int) -> None:
    deadline = time.monotonic() + 5
    while len(turns._waiting) < count:  # the queue is what is under test
        assert time.monotonic() < deadline, "threads did not queue"
        time.sleep(0.001)


def test_waiting_writers_get_their_turn_in_arrival_order() -> None:
    """Five threads queue behind a holder one after another; they run in that order, and
    the holder asking again at once goes after all of them."""
    turns = WriterTurns()
    order: list[str] = []
    turns.acquire()
    threads = []
    for name in "abcde":

        def write(name: str = name) -> None:
            with turns:
                order.append(name)

        thread = threading.Thread(target=write)
        thread.start()
        threads.append(thread)
        _wait_until_waiting(turns, len(threads))
    turns.release()

    def again() -> None:
        with turns:
            order.append("holder again")

    late = threading.Thread(target=again)
    late.start()
    for thread in [*threads, late]:
        thread.join(5)
    assert order == ["a", "b", "c", "d", "e", "holder again"]


def test_a_thread_holding_its_turn_passes_through_when_it_asks_again() -> None:
    """Reentrant, like the RLock it replaced; only the holder may release."""
    turns = WriterTurns()
    with turns, turns:
        pass
    with pytest.raises(RuntimeError, match="not held"):
        turns.release()
    errors: list[BaseException] = []
    with turns:
        thread = threading.Thread(target=lambda: _release_elsewhere(turns, errors))
        thread.start()
        thread.join(5)
    assert errors and "not held" in str(errors[0])


def _release_elsewhere(turns: WriterTurns, errors: list[BaseException]) -> None:
    try:
        turns.release()
    except RuntimeError as error:
        errors.append(error)
