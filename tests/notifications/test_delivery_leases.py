"""Leases that hold exactly while a sender works: a slow server never makes a second sender
send a message again, and a sender that lost a row's lease never sends it."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from cycle_engine import CycleEngine
from cycle_engine.notifications.delivery import DeliveryReport, OutboxSender
from cycle_engine.outbox.claims import ClaimPolicy
from cycle_engine.store.tables.outbox import CLAIMED, PENDING, SENT
from tests.notifications.conftest import RunningClock, SmtpServer, World
from tests.notifications.test_smtp_delivery import add_notices, deliver, make_sender, statuses


def run_in_thread(
    sender: OutboxSender, results: list[DeliveryReport | BaseException], once: bool = False
) -> None:
    """Run the sender (until idle, or one pass) in this thread's own event loop."""

    async def run() -> None:
        try:
            results.append(await (sender.run_once() if once else sender.run_until_idle()))
        finally:
            await sender.close()

    try:
        asyncio.run(run())
    except BaseException as error:  # reported by the test
        results.append(error)


def test_slow_server_with_two_senders_sends_each_message_once(
    world: World, smtp_server: SmtpServer, tmp_path: Path, db_url: str
) -> None:
    """Every message takes the server 0.6 s, longer than the 0.4 s lease; two senders with two
    connections each share 12 rows in real time: the heartbeat keeps each lease while its
    message is on the wire, so the server accepts each Message-ID once, each in one attempt."""
    add_notices(world, 4)
    expected = sorted(r.message_id for r in world.engine.outbox.messages(limit=1000))
    assert len(expected) == 12
    smtp_server.handler.delay = 0.6
    policy = ClaimPolicy(lease=timedelta(seconds=0.4), hourly_cap=1000)
    clock = RunningClock(world.clock.now())
    results: list[DeliveryReport | BaseException] = []
    engines = [CycleEngine(db_url, clock=clock) for _ in range(2)]
    try:
        senders = [
            make_sender(world, smtp_server, tmp_path, policy=policy, engine=engine, pool_size=2)
            for engine in engines
        ]
        threads = [threading.Thread(target=run_in_thread, args=(s, results)) for s in senders]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        elapsed = time.monotonic() - started
    finally:
        for engine in engines:
            engine.close()
    reports = [r for r in results if isinstance(r, DeliveryReport)]
    assert len(reports) == 2, results
    assert Counter(smtp_server.handler.message_ids()) == Counter(expected)  # once each
    assert statuses(world.engine) == {SENT: 12}
    rows = world.engine.outbox.messages(limit=1000)
    assert Counter((r.attempts, r.possible_duplicate) for r in rows) == {(1, False): 12}
    assert all(report.claimed > 0 for report in reports)  # both senders did their share
    assert elapsed < 12 * 0.6 / 2  # four at a time, not one sender holding everything


def test_sender_that_lost_its_lease_does_not_send_the_row(
    world: World, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    """A sender's message stalls on the wire until its lease has run out on the clock; its
    heartbeat cannot renew an expired lease, so it abandons the send; another sender takes the
    row over and the server accepts it once, the same attempt, flagged as a possible
    duplicate."""
    world.engine.run_due_timers()
    rows = world.engine.outbox.messages()
    assert len(rows) == 4
    smtp_server.handler.stall_next = 1
    lease = timedelta(seconds=0.4)
    first = make_sender(
        world, smtp_server, tmp_path, policy=ClaimPolicy(lease=lease, batch=1), pool_size=1
    )
    results: list[DeliveryReport | BaseException] = []
    thread = threading.Thread(target=run_in_thread, args=(first, results, True))
    thread.start()
    deadline = time.monotonic() + 10
    while smtp_server.handler.stalled == 0:
        assert time.monotonic() < deadline, "the first sender never reached DATA"
        time.sleep(0.02)
    [held] = [r for r in world.engine.outbox.messages() if r.status == CLAIMED]
    world.clock.advance(lease * 2)  # the lease runs out while the message is on the wire
    thread.join(timeout=10)
    assert not thread.is_alive()
    [report] = results
    assert isinstance(report, DeliveryReport)
    assert (report.claimed, report.recorded, report.outcomes) == (1, 0, {"lost": 1})
    assert world.engine.outbox.message(held.id or 0).status == CLAIMED  # not recorded by it

    deliver(make_sender(world, smtp_server, tmp_path))
    smtp_server.handler.released.set()
    assert Counter(smtp_server.handler.message_ids()) == Counter(r.message_id for r in rows)
    again = world.engine.outbox.message(held.id or 0)
    assert (again.status, again.attempts, again.possible_duplicate) == (SENT, 1, True)
    assert statuses(world.engine) == {SENT: 4}


def test_starttls_missing_with_credentials_is_retried_not_failed(
    world: World, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    """With credentials and STARTTLS required, a server that does not offer STARTTLS gets
    nothing; the rows wait and are tried again days later (a configuration to fix, not a
    message to give up on)."""
    world.engine.run_due_timers()

    def with_credentials() -> OutboxSender:
        return make_sender(world, smtp_server, tmp_path, tls="starttls", username="u", password="p")

    deliver(with_credentials())
    rows = world.engine.outbox.messages()
    assert {(r.status, r.attempts) for r in rows} == {(PENDING, 1)}
    assert all("STARTTLS" in (r.last_error or "").upper() for r in rows)
    world.clock.advance(timedelta(days=2))
    deliver(with_credentials())
    assert {(r.status, r.attempts) for r in world.engine.outbox.messages()} == {(PENDING, 2)}
    assert smtp_server.handler.received == []
    world.clock.advance(timedelta(hours=1))
    deliver(make_sender(world, smtp_server, tmp_path))  # fixed: plain loopback, no credentials
    assert statuses(world.engine) == {SENT: 4} and len(smtp_server.handler.received) == 4
