"""A sender asked to stop finishes the pass under way and starts no other, however many rows are
still due: `serve` shuts down in the time of one pass, never of a whole backlog (it used to send
every due row first, and outlived its supervisor's patience with thousands waiting)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cycle_engine.outbox.claims import ClaimPolicy
from cycle_engine.store.tables.outbox import PENDING, SENT
from tests.notifications.conftest import SmtpServer, World
from tests.notifications.test_smtp_delivery import add_notices, make_sender, statuses


def test_a_stopped_sender_finishes_its_pass_and_leaves_the_backlog_pending(
    world: World, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    """Twelve rows due, passes of three: a stop set as the server accepts the first message
    lets that pass's three go out and be recorded, and leaves nine pending, held by no one."""
    add_notices(world, 4)
    assert statuses(world.engine) == {PENDING: 12}
    sender = make_sender(world, smtp_server, tmp_path, policy=ClaimPolicy(batch=3, hourly_cap=100))

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        # set (from the server's thread) as the first message is accepted, mid-pass
        smtp_server.handler.on_accept = lambda _: loop.call_soon_threadsafe(stop.set)
        running = asyncio.create_task(sender.run_forever(stop, interval=0.05))
        try:
            await asyncio.wait_for(running, timeout=30)
        finally:
            await sender.close()

    asyncio.run(run())
    assert statuses(world.engine) == {SENT: 3, PENDING: 9}
    assert len(smtp_server.handler.message_ids()) == 3
    assert all(r.lease_owner is None for r in world.engine.outbox.messages(limit=100))
