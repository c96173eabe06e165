"""A sender killed between the server's 250 and recording it: at most one resend, same ID."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from cycle_engine.store.tables.outbox import CLAIMED, SENT
from tests.notifications.conftest import Received, SmtpServer, World
from tests.notifications.test_smtp_delivery import deliver, make_sender

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parents[2]


def test_sender_killed_after_250_resends_once_with_the_same_message_id(
    world: World, smtp_server: SmtpServer, tmp_path: Path, db_url: str
) -> None:
    """The server accepts a message, the sending process is frozen before it can record that,
    then killed; after the lease runs out another sender delivers everything, the accepted
    message a second time with the same Message-ID, and nothing else twice."""
    world.engine.run_due_timers()
    log = tmp_path / "sender.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.notifications.crash_sender",
                db_url,
                smtp_server.host,
                str(smtp_server.port),
                world.clock.now().isoformat(),
            ],
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )

    def freeze_sender(_: Received) -> None:
        os.kill(process.pid, signal.SIGSTOP)  # the 250 is written after this returns

    smtp_server.handler.on_accept = freeze_sender
    try:
        deadline = time.monotonic() + 30
        while not smtp_server.handler.received and process.poll() is None:
            assert time.monotonic() < deadline, "the sender never reached DATA"
            time.sleep(0.02)
        assert smtp_server.handler.received, log.read_text()
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    smtp_server.handler.on_accept = None
    [first] = smtp_server.handler.message_ids()
    stuck = [r for r in world.engine.outbox.messages() if r.status == CLAIMED]
    assert [r.message_id for r in stuck] == [first]
    assert stuck[0].lease_owner == "doomed-sender"

    deliver(make_sender(world, smtp_server, tmp_path))  # lease still held: nothing resent
    assert Counter(smtp_server.handler.message_ids())[first] == 1

    world.clock.advance(timedelta(minutes=6))  # the lease (5 minutes) has run out
    deliver(make_sender(world, smtp_server, tmp_path))
    counts = Counter(smtp_server.handler.message_ids())
    rows = world.engine.outbox.messages()
    assert {r.status for r in rows} == {SENT}
    assert counts == {r.message_id: (2 if r.message_id == first else 1) for r in rows}
