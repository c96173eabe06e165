"""The dashboard served for real: uvicorn on a free loopback port in a thread, a real SMTP
server (aiosmtpd) catching sign-in emails, and a small seeded world with one person per role.

    Alianza Test   coordinator (Coordinating NGO), manager (Research Institute), partner
                   (Farmers' Union, lead of the question workshop) and one learning cycle
    Other Alliance an outsider organisation and its own cycle, which nobody above may see
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI

from cycle_engine import CycleEngine
from cycle_engine.actors import Actor
from cycle_engine.api import Settings, create_app
from cycle_engine.api.dashboard.signin import signin_link
from cycle_engine.notifications.service import build_outbox_sender
from cycle_engine.notifications.settings import MailSettings, SmtpSettings
from cycle_engine.testing import ManualClock, WorldBuilder
from tests.servers import LoopbackServer

SECRET = "dashboard-test-secret-0123456789-abcdefghij"
COORDINATOR = Actor(name="seed", role="coordinator")


@dataclass(frozen=True, kw_only=True)
class World:
    alliance_id: int
    other_alliance_id: int
    cycle_id: int
    other_cycle_id: int
    coordinator: str
    manager: str
    partner: str
    outsider: str
    partner_org: int


PEOPLE = {  # key: (name, email, organisation)
    "coordinator": ("Ana Coordina", "ana@ngo.example.org", "ngo"),
    "manager": ("Mario Manager", "mario@research.example.org", "research"),
    "partner": ("Paula Partner", "paula@union.example.org", "union"),
    "outsider": ("Otto Outsider", "otto@outside.example.org", "outside"),
}


def seed_world(engine: CycleEngine) -> World:
    engine.publish_builtin_templates()
    build = WorldBuilder(engine, actor=COORDINATOR)
    build.alliance("alliance", "Alianza Test", "Rural enterprise", timezone="America/Guatemala")
    build.alliance("other", "Other Alliance", "Water", timezone="Africa/Nairobi")
    for key, name, kind, alliance in (
        ("ngo", "Coordinating NGO", "ngo", "alliance"),
        ("research", "Research Institute", "research", "alliance"),
        ("union", "Farmers' Union", "local", "alliance"),
        ("outside", "Outside Org", "ngo", "other"),
    ):
        build.organisation(
            key, name, kind, "Guatemala", timezone="America/Guatemala", member_of=[alliance]
        )
    roles = {"coordinator": {"alliance": "coordinator"}, "manager": {"alliance": "manager"}}
    for key, (name, email, organisation) in PEOPLE.items():
        build.person(key, name, email, organisation, roles=roles.get(key))
    build.cycle(
        "cycle",
        "learning-cycle",
        "Community seed systems",
        "alliance",
        questions=["Which seed varieties do farmers keep?"],
    )
    build.cycle(
        "other_cycle",
        "learning-cycle",
        "Water user groups",
        "other",
        questions=["Who maintains wells?"],
    )
    build.role("cycle", "question_workshop", "union", "lead", focal_point="partner")
    build.role("cycle", "question_workshop", "research", "active")
    build.role("other_cycle", "question_workshop", "outside", "lead")
    ids = build.ids
    emails = {key: email for key, (_, email, _) in PEOPLE.items()}
    return World(
        alliance_id=ids["alliance"],
        other_alliance_id=ids["other"],
        cycle_id=ids["cycle"],
        other_cycle_id=ids["other_cycle"],
        partner_org=ids["union"],
        **emails,
    )


class DashboardServer(LoopbackServer):
    """The real app on a free loopback port (bound first, so links carry the right URL)."""

    def __init__(self, db_url: str, clock: ManualClock, data_dir: Path) -> None:
        self.clock = clock

        def build(url: str) -> FastAPI:
            self.settings = Settings(
                database_url=db_url,
                secret_key=SECRET,
                base_url=url,
                run_worker=False,
                run_sender=False,
                data_dir=str(data_dir),
            )
            return create_app(self.settings, clock=clock)

        super().__init__(build)

    def __enter__(self) -> DashboardServer:
        super().__enter__()
        return self

    def link(self, email: str) -> str:
        """A fresh sign-in link for `email`, as `cycle-engine signin-link` prints it."""
        with CycleEngine(self.settings.database_url, clock=self.clock) as engine:
            return signin_link(engine, secret=SECRET, base_url=self.url, email=email)


class Inbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted"

    def links(self) -> list[str]:
        found = []
        for message in self.messages:
            for part in message.walk():
                if part.get_content_type() == "text/plain":
                    text = part.get_payload(decode=True).decode("utf-8")
                    found += re.findall(r"https?://\S+/dashboard/signin/confirm\?token=\S+", text)
        return found


@pytest.fixture
def dashboard_world(db_url: str, clock: ManualClock) -> World:
    with CycleEngine(db_url, clock=clock) as engine:
        return seed_world(engine)


@pytest.fixture
def dashboard(
    db_url: str, clock: ManualClock, tmp_path: Path, dashboard_world: World
) -> Iterator[DashboardServer]:
    with DashboardServer(db_url, clock, tmp_path / "data") as server:
        yield server


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on a free loopback port."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def deliver_mail(server: DashboardServer, port: int) -> None:
    """Run the real outbox sender once against the test SMTP server."""
    mail = MailSettings(
        smtp=SmtpSettings(host="127.0.0.1", port=port, tls="none", timeout=10),
        secret_key=SECRET,
        base_url=server.url,
        data_dir=Path(server.settings.data_dir),
    )

    async def run() -> None:
        with CycleEngine(server.settings.database_url, clock=server.clock) as engine:
            sender = build_outbox_sender(engine, mail)
            try:
                await sender.run_until_idle()
            finally:
                await sender.close()

    failures: list[BaseException] = []

    def in_thread() -> None:  # its own event loop (Playwright's sync API holds this thread's)
        try:
            asyncio.run(run())
        except BaseException as error:  # re-raised in the caller
            failures.append(error)

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join(60)
    if failures:
        raise failures[0]


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def sign_in(server: DashboardServer, email: str) -> httpx.Client:
    """An httpx client signed in as `email` through a sign-in link (confirm page + POST)."""
    client = server.client(follow_redirects=False)
    link = server.link(email)
    page = client.get(link)
    assert page.status_code == 200
    token = link.split("token=", 1)[1]
    answer = client.post(
        "/dashboard/signin/confirm", data={"csrf_token": csrf_of(page.text), "token": token}
    )
    assert answer.status_code == 303, answer.text
    return client
