"""Blocking work off the event loop, in batches: how emails are composed while others are sent.

Rendering an email (Jinja, about 0.3 ms) and signing its links are CPU work; done on the event
loop they hold up every connection the sender keeps busy, and every request of an app that runs
the sender beside its API (`/healthz` included). `BatchThread.run(call)` queues the call for one
worker thread and awaits its result. The thread takes everything queued at once and hands the
results back every few calls, so one hop between the loop and the thread carries many emails,
and the first messages of a batch are on the wire while the thread composes the rest.

One thread is enough: the work holds the interpreter lock, so more threads would only take
turns; what matters is that the loop is free to send meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

T = TypeVar("T")

#: Results handed back to the loop after this many calls (and when the queue is empty).
HAND_BACK_EVERY = 8


class BatchThread(Generic[T]):
    """Runs calls returning `T` in one worker thread, in the order they were queued."""

    def __init__(self, name: str = "batch") -> None:
        self._name = name
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._queued: list[tuple[Callable[[], T], asyncio.Future[T]]] = []
        self._draining = False

    async def run(self, call: Callable[[], T]) -> T:
        """`call()`'s result (or exception), computed in the worker thread."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        with self._lock:
            self._queued.append((call, future))
            start = not self._draining
            self._draining = True
        if start:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._name)
            self._executor.submit(self._drain)
        return await future

    def _drain(self) -> None:
        """In the worker thread: run what is queued until nothing is, handing results back."""
        done: list[tuple[asyncio.Future[T], T | None, BaseException | None]] = []
        while True:
            with self._lock:
                batch, self._queued = self._queued, []
                if not batch:
                    self._draining = False
            if not batch:
                break
            for call, future in batch:
                if future.cancelled():
                    continue
                try:
                    done.append((future, call(), None))
                except Exception as error:  # the caller gets it, as from a direct call
                    done.append((future, None, error))
                if len(done) >= HAND_BACK_EVERY:
                    _hand_back(done)
                    done = []
        if done:
            _hand_back(done)

    def close(self) -> None:
        """Stop the worker thread once it has finished what it holds (without waiting); a
        later `run` starts a new one."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False)


def _hand_back(done: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    """Settle each future on its own event loop (a sender may run passes in several)."""
    loops: dict[asyncio.AbstractEventLoop, list[Any]] = {}
    for item in done:
        loops.setdefault(item[0].get_loop(), []).append(item)
    for loop, items in loops.items():
        with contextlib.suppress(RuntimeError):  # its loop has closed: nobody awaits them
            loop.call_soon_threadsafe(_settle, items)


def _settle(done: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, result, error in done:
        if future.done():  # cancelled while it was composed
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
