"""Fixtures for the notification tests: a real SMTP server and a real webhook receiver on
loopback that can be scripted to misbehave, and the outbox tests' small Learning Alliance
(`World`, `build_world`: tests/cycle_engine/outbox/conftest.py)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from cycle_engine import CycleEngine
from cycle_engine.notifications.render import Renderer
from cycle_engine.notifications.senders.smtp import SmtpMailSender
from cycle_engine.notifications.settings import SmtpSettings
from cycle_engine.testing import ManualClock
from tests.cycle_engine.outbox.conftest import World, build_world
from tests.notifications.webhook_receiver import WebhookReceiver, running_receiver


@dataclass
class Received:
    """One message the server accepted (answered 250 to)."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=policy.default).parsebytes(self.content)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


@dataclass
class ScriptedHandler:
    """An aiosmtpd handler whose answers tests script.

    `data_replies`: replies to the next DATA commands, in order (then "250 OK");
    `outage`: while set, the reply to every DATA (e.g. "451 4.3.0 try again later");
    `refuse`: address -> RCPT reply; `stall`: DATA never answers (until `released`);
    `stall_next`: that many of the next DATA commands never answer (until `released`);
    `delay`: seconds each DATA takes before its answer (connections are served concurrently);
    `on_accept`: called (in the server thread) just before a 250 is returned for DATA.
    """

    received: list[Received] = field(default_factory=list)
    data_replies: list[str] = field(default_factory=list)
    outage: str | None = None
    refuse: dict[str, str] = field(default_factory=dict)
    stall: bool = False
    stall_next: int = 0
    stalled: int = 0
    delay: float = 0.0
    on_accept: Callable[[Received], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    released: threading.Event = field(default_factory=threading.Event)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        reply = self.refuse.get(address.lower())
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            stall = self.stall or self.stall_next > 0
            self.stall_next = max(0, self.stall_next - 1)
            self.stalled += stall
        if stall:
            while not self.released.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 released"
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            if self.outage is not None:
                return self.outage
            if self.data_replies:
                return self.data_replies.pop(0)
            content = envelope.original_content or envelope.content
            received = Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(content))
            if self.on_accept is not None:
                self.on_accept(received)
            self.received.append(received)
        return "250 2.0.0 accepted"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [r.message_id for r in self.received]


@dataclass
class SmtpServer:
    """The server; `stop` makes it die (connections refused) and `start` brings it back."""

    handler: ScriptedHandler
    host: str
    port: int
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(
            self.handler, hostname=self.host, port=self.port, ready_timeout=5.0
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def settings(self, **overrides: Any) -> SmtpSettings:
        values: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "tls": "none",
            "timeout": 5.0,
            "pool_size": 4,
        }
        values.update(overrides)
        return SmtpSettings(**values)

    def sender(self, **overrides: Any) -> SmtpMailSender:
        return SmtpMailSender(self.settings(**overrides))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real aiosmtpd server on 127.0.0.1 with a scriptable handler."""
    server = SmtpServer(handler=ScriptedHandler(), host="127.0.0.1", port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.handler.released.set()
        server.stop()


class RunningClock:
    """A clock that starts at `start` and runs in real time (for leases that must really run
    out while the world's data keeps its fixed dates)."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self._origin = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self._origin)


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    with running_receiver() as server:
        yield server


@pytest.fixture(scope="session")
def renderer() -> Renderer:
    return Renderer()


@pytest.fixture
def world(engine: CycleEngine, clock: ManualClock) -> World:
    """The outbox tests' alliance and cycle on a fresh database (SQLite and PostgreSQL)."""
    return build_world(engine, clock)
