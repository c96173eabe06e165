"""One pass of the outbox sender: rows claimed just ahead of the wire, each channel's slots kept
busy, leases renewed while rows are held, and each outcome recorded as soon as it is known.

Four things run side by side in a pass (`SenderPass.run`):

    claiming    a claim runs beside the sends and takes what the free slots need, plus what this
                sender sends in READY_FOR at its pace so far (claimed again when half of that has
                left): nothing extra while the server is slow, so a slow server never leaves
                rows waiting behind the ones on the wire, and a few large claims when it is
                fast, so a fast one is not held up by claims
    sending     one task per row, at most the channel's `concurrency` at a time; no database
                transaction is open while a message is on the wire
    recording   outcomes as they arrive, each transaction taking every outcome that arrived
                while the previous one ran (`outbox.claims.complete`)
    heartbeat   every quarter lease the leases of held rows are renewed (`outbox.claims.renew`);
                a row whose lease could not be renewed (another sender took it over, or the
                database stayed unreachable until the lease was nearly out) is abandoned: not
                started, or its send cancelled, never recorded late

A pass ends when nothing more is due (or `policy.batch` rows were claimed) and every claimed row
has been delivered and recorded; rows claimed but not started when a pass ends early (a database
error) are given back (`outbox.claims.release`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from cycle_engine.clock import Clock
from cycle_engine.outbox.claims import (
    Claim,
    ClaimPolicy,
    Outcome,
    Retry,
    claim,
    complete,
    release,
    renew,
)
from cycle_engine.store.db import Database
from cycle_engine.store.tables.outbox import OutboxRecord

log = logging.getLogger("cycle_engine.notifications")

#: Rows claimed ahead of the wire: what the sender sends in this many seconds at its pace
#: (after a crash they wait for the lease like the rows on the wire, then go once). Each claim
#: is a write transaction; at 1,000 emails/s a tenth of a second made them a few rows each.
READY_FOR = 0.5
#: Outcomes wait this long for others before they are recorded, so one transaction records
#: many (a lease lasts a minute; the heartbeat keeps it meanwhile).
RECORD_AFTER = 0.02


class ChannelHandler(Protocol):
    """Delivers outbox rows of one channel, up to `concurrency` at a time."""

    @property
    def concurrency(self) -> int: ...

    async def deliver(self, row: OutboxRecord, now: datetime) -> Outcome: ...

    async def close(self) -> None: ...


@dataclass
class DeliveryReport:
    """Counts of one or more sender passes: rows claimed, ended or held at the claim without
    sending (`settled`), outcomes by kind ("lost": abandoned with the lease), outcomes
    recorded, and digests made."""

    claimed: int = 0
    settled: int = 0
    recorded: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    digests: int = 0

    def add(self, other: DeliveryReport) -> None:
        self.claimed += other.claimed
        self.settled += other.settled
        self.recorded += other.recorded
        self.digests += other.digests
        for name, count in other.outcomes.items():
            self.count(name, count)

    def count(self, name: str, times: int = 1) -> None:
        self.outcomes[name] = self.outcomes.get(name, 0) + times


@dataclass(eq=False)
class Work:
    """A row this sender holds: ready, on the wire, or delivered and waiting to be recorded.
    `counted`: its claim counted an attempt (not a takeover)."""

    row: OutboxRecord
    lease_until: datetime
    counted: bool
    task: asyncio.Task[Outcome] | None = None
    lost: bool = False

    @property
    def id(self) -> int:
        assert self.row.id is not None
        return self.row.id


_Done = tuple[Work, Outcome] | None


class SenderPass:
    """One pass of `owner` over the due rows of `channels`; `run` fills `report`."""

    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        channels: Mapping[str, ChannelHandler],
        policy: ClaimPolicy,
        owner: str,
        rng: random.Random,
        report: DeliveryReport,
    ) -> None:
        self.db = db
        self.clock = clock
        self.channels = channels
        self.policy = policy
        self.owner = owner
        self.rng = rng
        self.report = report
        self.held: dict[int, Work] = {}
        self.done: asyncio.Queue[_Done] = asyncio.Queue()

    async def run(self) -> None:
        recorder = asyncio.create_task(self._record())
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            await self._deliver_due(recorder)
        finally:
            self.done.put_nowait(None)
            try:
                await recorder
            finally:
                heartbeat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await heartbeat

    # -- claiming and sending ----------------------------------------------------------------

    async def _deliver_due(self, recorder: asyncio.Task[None]) -> None:
        """Keep each channel's slots busy with due rows until none is due (or the batch is
        claimed), handing each outcome to the recorder as it arrives."""
        sending: dict[asyncio.Task[Outcome], Work] = {}
        claiming: dict[asyncio.Task[Claim], str] = {}
        ready: dict[str, deque[Work]] = {name: deque() for name in self.channels}
        sent = dict.fromkeys(self.channels, 0)
        open_channels = set(self.channels)
        began = time.monotonic()
        try:
            while True:
                stopping = recorder.done()  # outcomes can no longer be recorded: send no more
                for name, handler in self.channels.items():
                    slots = max(1, handler.concurrency)
                    busy = sum(1 for work in sending.values() if work.row.channel == name)
                    while busy < slots and ready[name] and not stopping:
                        work = ready[name].popleft()
                        work.task = asyncio.create_task(self._deliver(work))
                        sending[work.task] = work
                        busy += 1
                    if stopping or name not in open_channels or name in claiming.values():
                        continue
                    pace = sent[name] / max(time.monotonic() - began, 0.001)
                    want = self._wanted(slots - busy, len(ready[name]), int(pace * READY_FOR))
                    if want > 0:
                        claiming[asyncio.create_task(self._claim(name, want))] = name
                if not sending and not claiming:
                    return
                tasks: set[asyncio.Task[Any]] = {*sending, *claiming}
                finished, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    if task in claiming:
                        name = claiming.pop(task)
                        if not self._take(task.result(), ready[name]):
                            open_channels.discard(name)
                    else:
                        work = sending.pop(task)
                        sent[work.row.channel] += 1
                        self._hand_over(work)
        except asyncio.CancelledError:
            for pending in (*sending, *claiming):
                pending.cancel()
            raise
        finally:
            await self._wind_down(sending, claiming, ready)

    def _wanted(self, free: int, ready: int, ahead: int) -> int:
        """How many rows to claim now: enough for the free slots and `ahead` more, once what is
        ready has fallen to half of `ahead` (so claims are few and large when sending is fast),
        within what is left of the pass's batch."""
        if ready > ahead // 2:
            return 0
        return min(free + ahead - ready, self.policy.batch - self.report.claimed)

    async def _claim(self, channel: str, limit: int) -> Claim:
        return await asyncio.to_thread(
            claim,
            self.db,
            owner=self.owner,
            now=self.clock.now(),
            channels=(channel,),
            policy=self.policy,
            limit=limit,
        )

    def _take(self, claimed: Claim, ready: deque[Work]) -> bool:
        """Queue the claimed rows; False when nothing more is due on their channel."""
        self.report.claimed += len(claimed.rows)
        self.report.settled += claimed.settled
        for row in claimed.rows:
            assert row.id is not None and row.lease_until is not None
            work = Work(
                row=row, lease_until=row.lease_until, counted=row.id not in claimed.taken_over
            )
            self.held[work.id] = work
            ready.append(work)
        return claimed.more

    async def _wind_down(
        self,
        sending: dict[asyncio.Task[Outcome], Work],
        claiming: dict[asyncio.Task[Claim], str],
        ready: dict[str, deque[Work]],
    ) -> None:
        """After an error: what is on the wire finishes and is recorded; claims in flight
        finish; rows claimed and never started are given back."""
        if claiming:
            await asyncio.wait(claiming)
            for task, name in claiming.items():
                if not task.cancelled() and task.exception() is None:
                    self._take(task.result(), ready[name])
        if sending:
            await asyncio.wait(sending)
            for work in sending.values():
                self._hand_over(work)
        unstarted = [work for queue in ready.values() for work in queue]
        if not unstarted:
            return
        for work in unstarted:
            self.held.pop(work.id, None)
        try:
            await asyncio.to_thread(
                release,
                self.db,
                owner=self.owner,
                counted=[w.id for w in unstarted if w.counted],
                uncounted=[w.id for w in unstarted if not w.counted],
            )
        except Exception:  # they wait for their lease to run out instead
            log.warning("could not give back %d claimed rows", len(unstarted), exc_info=True)

    def _hand_over(self, work: Work) -> None:
        assert work.task is not None
        if work.task.cancelled():
            self.held.pop(work.id, None)
            self.report.count("lost")
            return
        outcome = work.task.result()
        self.report.count(type(outcome).__name__.lower())
        self.done.put_nowait((work, outcome))

    async def _deliver(self, work: Work) -> Outcome:
        handler = self.channels[work.row.channel]
        now = self.clock.now()
        if work.lost or work.lease_until <= now:
            raise asyncio.CancelledError  # not ours any more: whoever holds it sends it
        try:
            return await handler.deliver(work.row, now)
        except Exception as error:  # a handler bug must not lose the row: retry it later
            return Retry(error=f"{type(error).__name__}: {error}")

    # -- recording -----------------------------------------------------------------------------

    async def _record(self) -> None:
        """Record outcomes as they arrive: everything queued at that moment in one transaction."""
        finished = False
        while not finished:
            batch: list[tuple[Work, Outcome]] = []
            item = await self.done.get()
            if item is not None:
                await asyncio.sleep(RECORD_AFTER)
            while True:
                if item is None:
                    finished = True
                    break
                batch.append(item)
                if self.done.empty():
                    break
                item = self.done.get_nowait()
            if batch:
                self.report.recorded += await self._complete(batch)
                for work, _ in batch:
                    self.held.pop(work.id, None)

    async def _complete(self, batch: list[tuple[Work, Outcome]]) -> int:
        """`complete` for `batch`, tried again a few times while the database is unreachable
        (the heartbeat keeps the leases meanwhile)."""
        delay = 0.5
        for attempt in range(4):
            try:
                return await asyncio.to_thread(
                    complete,
                    self.db,
                    owner=self.owner,
                    now=self.clock.now(),
                    results=[(work.row, outcome) for work, outcome in batch],
                    policy=self.policy,
                    rng=self.rng,
                )
            except Exception:
                if attempt == 3:
                    raise
                log.warning("could not record %d outcomes; retrying", len(batch), exc_info=True)
                await asyncio.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    # -- heartbeat -----------------------------------------------------------------------------

    async def _heartbeat(self) -> None:
        """Renew the leases of held rows every `policy.heartbeat`; abandon rows that are lost."""
        period = self.policy.heartbeat.total_seconds()
        while True:
            await asyncio.sleep(period)
            works = dict(self.held)
            if not works:
                continue
            now = self.clock.now()
            kept: set[int] | None
            try:
                kept = await asyncio.to_thread(
                    renew, self.db, owner=self.owner, ids=list(works), now=now, policy=self.policy
                )
            except Exception:
                log.warning("could not renew %d outbox leases", len(works), exc_info=True)
                kept = None
            for row_id, work in works.items():
                if kept is not None and row_id in kept:
                    work.lease_until = now + self.policy.lease
                elif kept is not None or work.lease_until - now <= 2 * self.policy.heartbeat:
                    work.lost = True  # taken over, or about to run out with no way to renew
                    if work.task is not None and not work.task.done():
                        work.task.cancel()
