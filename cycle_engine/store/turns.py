"""Writer turns: a first-come, first-served lock for the writers of one SQLite database.

SQLite lets one transaction write at a time. Left to its busy handler, waiting writers poll
and sleep, and under load some of them lose every race (p99 over a second while the median is
20 ms). `threading.Lock` does not help much: a thread that releases it and asks again at once
usually wins it back before the waiting threads wake. `WriterTurns` hands the lock to the
longest-waiting thread instead, so a writer waits for at most the writers ahead of it.

It is reentrant (a thread already holding it passes straight through), as the `RLock` it
replaces was: a command that opens a transaction inside its own thread's transaction must
not wait for itself.
"""

from __future__ import annotations

import threading
from collections import deque
from types import TracebackType


class WriterTurns:
    """A reentrant lock granted in the order threads asked for it (FIFO)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._waiting: deque[threading.Lock] = deque()
        self._owner: int | None = None
        self._depth = 0

    def acquire(self) -> None:
        me = threading.get_ident()
        with self._guard:
            if self._owner == me:
                self._depth += 1
                return
            if self._owner is None and not self._waiting:
                self._owner, self._depth = me, 1
                return
            turn = threading.Lock()
            turn.acquire()
            self._waiting.append(turn)
        turn.acquire()  # released by the holder that hands us the lock
        with self._guard:
            self._owner, self._depth = me, 1

    def release(self) -> None:
        with self._guard:
            if self._owner != threading.get_ident():
                raise RuntimeError("release of writer turns not held by this thread")
            self._depth -= 1
            if self._depth:
                return
            self._owner = None
            if self._waiting:
                # Ownership passes to the longest waiter; nobody else can take it meanwhile,
                # since `acquire` only takes a free lock when no one is waiting.
                self._owner = -1
                self._waiting.popleft().release()

    def __enter__(self) -> WriterTurns:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
