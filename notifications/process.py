"""The outbox sender in a process of its own, started, watched and stopped by `serve`.

Why a process: the sender's work is Python work (claiming and recording rows, rendering and
signing each email, aiosmtplib's side of the SMTP exchange). Run in the API's process, even in
threads, it shares the interpreter lock with the event loop: every time the loop gives the lock
up (at each read, write and poll) it waits for the sender's threads to hand it back, up to the
switch interval each time, so `/healthz` slowed from a few to 150 ms while mail went out beside
the dashboard. In its own process it runs on another core, and the API's loop waits only for
the API's own work (`bench.event_loop` prints both; `--sender-in-process` for the old way). The
child runs at a lower CPU priority (`NICENESS`): when both want a core the requests win, and
mail, which can wait a moment, uses whatever is idle.

Nothing new is needed for safety: the sender's rows are leased (`outbox.claims`), so:

- on stop, the parent asks the child to stop; the child finishes the pass under way (at most
  `policy.batch` rows, each sent and recorded) and exits. One still running after
  `STOP_TIMEOUT` is killed: the rows it held wait for their lease, then go once more, with the
  same Message-ID, marked as a possible duplicate;
- when the parent dies (even by SIGKILL) the child sees its pipe close and stops the same way;
- when the child dies, the parent logs its exit code and starts another after
  `RESTART_AFTER` seconds.

The child counts its deliveries and SMTP replies and sends the counts to the parent through
the same pipe about once a second, so the API's `/metrics` counts them as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from cycle_engine.engine import CycleEngine
from cycle_engine.logs import configure_logging, register_secret
from cycle_engine.notifications.metrics import DeliveryCounts, instrument
from cycle_engine.notifications.service import SenderService, build_outbox_sender
from cycle_engine.notifications.settings import load_mail_settings
from cycle_engine.notifications.webhooks import WebhookChannel
from cycle_engine.outbox.addresses import AddressPolicy
from cycle_engine.plugins import load_extensions

log = logging.getLogger("cycle_engine.notifications")

#: Seconds a stopping child may take to finish its pass before it is killed.
STOP_TIMEOUT = 30.0
#: Seconds between a child's unexpected exit and the start of the next.
RESTART_AFTER = 5.0
#: Seconds between two batches of counts sent to the parent.
COUNTS_EVERY = 1.0
#: How much lower the child's CPU priority is than the API's (`os.nice`): mail may wait a
#: little when both want the processor, a request should not; idle cores it uses in full.
NICENESS = 5

_STOP = "stop"
_Counts = dict[tuple[str, str, str], int]  # (kind, label, value) -> times


@dataclass(frozen=True, kw_only=True)
class SenderProcessSettings:
    """What the child needs to build the same sender `serve` would run in-process."""

    database_url: str
    database_schema: str | None
    data_dir: str
    secret_key: str
    base_url: str
    webhook_allow: str
    interval: float = 5.0
    log_level: str = "info"


class _CountsToParent:
    """The child's `DeliveryCounts`: kept here, sent to the parent with `flush`."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.counts: Counter[tuple[str, str, str]] = Counter()

    def record_delivery(self, channel: str, outcome: str) -> None:
        self.counts["delivery", channel, outcome] += 1

    def record_smtp_reply(self, code: int | None) -> None:
        self.counts["smtp", "", "" if code is None else str(code)] += 1

    def flush(self) -> None:
        if self.counts:
            counts, self.counts = dict(self.counts), Counter()
            with contextlib.suppress(OSError):  # the parent is gone: nobody to tell
                self.connection.send(counts)


def run_child(settings: SenderProcessSettings, connection: Connection) -> None:
    """The child process: the outbox sender until asked to stop or its parent is gone."""
    configure_logging(settings.log_level)
    register_secret(settings.secret_key)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the parent, which stops us
    with contextlib.suppress(OSError):  # where the system lets a process lower its priority
        os.nice(NICENESS)
    mail = load_mail_settings(
        secret_key=settings.secret_key, base_url=settings.base_url, data_dir=settings.data_dir
    )
    register_secret(mail.smtp.password if mail.smtp else None)
    counts = _CountsToParent(connection)
    with CycleEngine(
        settings.database_url,
        schema=settings.database_schema,
        data_dir=Path(settings.data_dir),
        **load_extensions().engine_arguments(),
    ) as engine:
        webhooks = WebhookChannel(
            engine.db, addresses=AddressPolicy.from_setting(settings.webhook_allow)
        )
        sender = build_outbox_sender(engine, mail, webhooks=webhooks)
        instrument(sender, counts, smtp=mail.smtp is not None)
        service = SenderService(sender, interval=settings.interval)

        async def run() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()

            def readable() -> None:
                with contextlib.suppress(EOFError, OSError):  # else the parent is gone
                    connection.recv()  # the only message is "stop"
                loop.remove_reader(connection.fileno())
                stop.set()

            loop.add_reader(connection.fileno(), readable)
            loop.add_signal_handler(signal.SIGTERM, stop.set)
            await service.start()
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=COUNTS_EVERY)
                counts.flush()
            await service.stop()
            counts.flush()

        asyncio.run(run())
    connection.close()


class SenderProcess:
    """The outbox sender as a child process of the API's (a background service of `serve`)."""

    name = "outbox sender process"

    def __init__(self, settings: SenderProcessSettings, counts: DeliveryCounts | None) -> None:
        self.settings = settings
        self.counts = counts
        self._context = multiprocessing.get_context("spawn")  # no copy of the API's threads
        self._process: BaseProcess | None = None
        self._connection: Connection | None = None
        self._watcher: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        """The running child's process id (None before start and after stop)."""
        return self._process.pid if self._process is not None else None

    async def start(self) -> None:
        await asyncio.to_thread(self._spawn)
        self._watcher = asyncio.create_task(self._watch(), name=self.name)

    def _spawn(self) -> None:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=run_child, args=(self.settings, child), name="cycle-engine-sender", daemon=True
        )
        process.start()
        child.close()  # the child holds its end: when it exits, ours reads end-of-file
        self._process, self._connection = process, parent
        log.info("outbox sender process %s started", process.pid)

    def _receive(self, counts: _Counts) -> None:
        if self.counts is None:
            return
        for (kind, label, value), times in counts.items():
            for _ in range(times):
                if kind == "delivery":
                    self.counts.record_delivery(label, value)
                else:
                    self.counts.record_smtp_reply(int(value) if value else None)

    def _drain(self, connection: Connection) -> bool:
        """Take every count waiting on `connection`; False once the child's end is closed."""
        try:
            while connection.poll():
                self._receive(connection.recv())
        except (EOFError, OSError):
            return False
        return True

    async def _watch(self) -> None:
        """Take the child's counts as they come; start another child when one dies."""
        loop = asyncio.get_running_loop()
        while True:
            connection, process = self._connection, self._process
            assert connection is not None and process is not None
            ended: asyncio.Future[None] = loop.create_future()

            def readable(
                connection: Connection = connection, ended: asyncio.Future[None] = ended
            ) -> None:
                if not self._drain(connection) and not ended.done():
                    ended.set_result(None)

            loop.add_reader(connection.fileno(), readable)
            try:
                await ended
            finally:
                with contextlib.suppress(ValueError, OSError):
                    loop.remove_reader(connection.fileno())
            await asyncio.to_thread(process.join, STOP_TIMEOUT)
            if process.is_alive():  # its pipe closed but it hangs on: make room for another
                process.kill()
                await asyncio.to_thread(process.join, 5)
            log.error(
                "outbox sender process %s exited (code %s); starting another in %g s",
                process.pid,
                process.exitcode,
                RESTART_AFTER,
            )
            connection.close()
            await asyncio.sleep(RESTART_AFTER)
            await asyncio.to_thread(self._spawn)

    async def stop(self) -> None:
        """Ask the child to stop after its pass; kill it if it has not within STOP_TIMEOUT."""
        watcher, self._watcher = self._watcher, None
        if watcher is not None:  # from here on an exit is expected, not restarted
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        process, connection = self._process, self._connection
        self._process = self._connection = None
        if process is None or connection is None:
            return
        with contextlib.suppress(OSError):
            connection.send(_STOP)
        started = time.monotonic()
        await asyncio.to_thread(process.join, STOP_TIMEOUT)
        if process.is_alive():
            log.warning(
                "outbox sender process %s did not stop in %g s; killing it (its rows go again "
                "when their lease runs out)",
                process.pid,
                time.monotonic() - started,
            )
            process.kill()
            await asyncio.to_thread(process.join, 5)
        self._drain(connection)  # its last counts
        connection.close()
        log.info("outbox sender process %s stopped (code %s)", process.pid, process.exitcode)
