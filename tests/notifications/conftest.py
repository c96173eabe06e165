"""Fixtures for the notification tests: a real SMTP server and a real webhook receiver on
loopback that can be scripted to misbehave, and a small Learning Alliance with people in
several roles, languages and zones."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from cycle_engine import CycleEngine
from cycle_engine.actors import Actor
from cycle_engine.notifications.render import Renderer
from cycle_engine.notifications.senders.smtp import SmtpMailSender
from cycle_engine.notifications.settings import SmtpSettings
from cycle_engine.testing import ManualClock
from tests.notifications.webhook_receiver import WebhookReceiver, running_receiver

COORDINATOR = Actor(name="cora", role="coordinator")


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
    `refuse`: address -> RCPT reply; `stall`: DATA never answers (until the test ends);
    `on_accept`: called (in the server thread) just before a 250 is returned for DATA.
    """

    received: list[Received] = field(default_factory=list)
    data_replies: list[str] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    stall: bool = False
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
        if self.stall:
            while not self.released.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 released"
        with self.lock:
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
    handler: ScriptedHandler
    host: str
    port: int

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
    handler = ScriptedHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=5.0)
    controller.start()
    try:
        yield SmtpServer(handler=handler, host="127.0.0.1", port=port)
    finally:
        handler.released.set()
        controller.stop()


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    with running_receiver() as server:
        yield server


@pytest.fixture(scope="session")
def renderer() -> Renderer:
    return Renderer()


@dataclass
class World:
    """A small alliance: a lead organisation (focal point Ana, deputy Ben, colleague Carla),
    an active one (focal point Dario), an informed one (Eve), a coordinator and a manager, and
    one learning cycle in its first stage."""

    engine: CycleEngine
    clock: ManualClock
    alliance_id: int
    cycle_id: int
    people: dict[str, int]
    organisations: dict[str, int]

    def person(self, name: str) -> int:
        return self.people[name]


def build_world(engine: CycleEngine, clock: ManualClock, *, hostile: bool = False) -> World:
    engine.publish_builtin_templates()
    alliance = engine.alliances.create_alliance(
        "Rural enterprise alliance",
        "Rural enterprise development",
        timezone="UTC",
        working_hours_start=0,
        working_hours_end=24,
        weekend_days="",
    )
    research_name = (
        '<script>alert("x")</script> Research\r\nBcc: victim@example.org'
        if hostile
        else "Research Centre"
    )
    orgs = {
        "research": engine.alliances.add_organisation(research_name, "research", "Colombia"),
        "farmers": engine.alliances.add_organisation("Farmers Network", "local", "Guatemala"),
        "donor": engine.alliances.add_organisation("Donor Agency", "donor", "Netherlands"),
        "secretariat": engine.alliances.add_organisation("Alliance Secretariat", "ngo", "Colombia"),
    }
    assert alliance.id is not None
    for org in orgs.values():
        assert org.id is not None
        engine.alliances.join_alliance(alliance.id, org.id)
    ana_name = "Ana\r\nBcc: victim@example.org <b>Pérez</b>" if hostile else "Ana Pérez"
    spec = [
        ("ana", ana_name, "ana@research.example.org", "research", "es", "America/Bogota"),
        ("ben", "Ben Okafor", "ben@research.example.org", "research", "en", "Europe/London"),
        ("carla", "Carla Dubois", "carla@research.example.org", "research", "fr", "Europe/Paris"),
        ("dario", "Dario López", "dario@farmers.example.org", "farmers", "es", "America/Guatemala"),
        ("eve", "Eve de Vries", "eve@donor.example.org", "donor", "en", "Europe/Amsterdam"),
        ("cora", "Cora Coordinator", "cora@secretariat.example.org", "secretariat", "en", "UTC"),
        ("max", "Max Manager", "max@secretariat.example.org", "secretariat", "fr", "UTC"),
    ]
    people = {}
    for key, name, email, org_key, language, zone in spec:
        org_id = orgs[org_key].id
        assert org_id is not None
        person = engine.alliances.add_person(name, email, org_id, language=language, timezone=zone)
        assert person.id is not None
        people[key] = person.id
    engine.alliances.grant_role(alliance.id, people["cora"], "coordinator")
    engine.alliances.grant_role(alliance.id, people["max"], "manager")
    cycle = engine.start_cycle(
        "learning-cycle",
        "Market access for smallholders",
        alliance_id=alliance.id,
        questions=["What helps farmers sell?"],
    )
    assert cycle.id is not None
    stage = "question_workshop"
    ids = {k: v.id for k, v in orgs.items()}
    engine.work.assign(
        cycle.id,
        stage,
        ids["research"] or 0,
        "lead",
        focal_point_id=people["ana"],
        deputy_id=people["ben"],
        actor=COORDINATOR,
    )
    engine.work.assign(
        cycle.id,
        stage,
        ids["farmers"] or 0,
        "active",
        focal_point_id=people["dario"],
        actor=COORDINATOR,
    )
    engine.work.assign(cycle.id, stage, ids["donor"] or 0, "informed", actor=COORDINATOR)
    return World(
        engine=engine,
        clock=clock,
        alliance_id=alliance.id,
        cycle_id=cycle.id,
        people=people,
        organisations={k: v or 0 for k, v in ids.items()},
    )


@pytest.fixture
def world(engine: CycleEngine, clock: ManualClock) -> World:
    """The alliance and cycle on a fresh database (SQLite and PostgreSQL)."""
    return build_world(engine, clock)
