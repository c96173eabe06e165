"""Sign-in emails are limited per client as well as per person: one client asking for links for
forty addresses gets at most MAX_LINKS_PER_CLIENT emails queued (the page answers the same for
every address, so it says nothing about who exists), while another client is still served."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from cycle_engine import CycleEngine
from cycle_engine.outbox.signin import MAX_LINKS_PER_CLIENT, SIGNIN_KIND
from cycle_engine.store.tables.outbox import OutboxRecord
from cycle_engine.testing import ManualClock, WorldBuilder
from tests.api.dashboard.conftest import COORDINATOR, DashboardServer

PEOPLE = 40


@pytest.fixture
def server(db_url: str, clock: ManualClock, tmp_path: Path) -> Iterator[DashboardServer]:
    with CycleEngine(db_url, clock=clock) as engine:
        build = WorldBuilder(engine, actor=COORDINATOR)
        build.alliance("alliance", "Alianza", "Seeds")
        build.organisation("union", "Farmers' Union", "local", "Peru", member_of=["alliance"])
        for n in range(PEOPLE):
            build.person(f"p{n}", f"Person {n}", f"person{n}@union.example.org", "union")
    with DashboardServer(db_url, clock, tmp_path / "data") as running:
        yield running


def _ask(client: httpx.Client, email: str) -> httpx.Response:
    page = client.get("/dashboard/signin")
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert match is not None
    return client.post("/dashboard/signin", data={"csrf_token": match.group(1), "email": email})


def _queued(db_url: str) -> list[OutboxRecord]:
    with CycleEngine(db_url) as engine, engine.db.read_session() as session:
        return list(session.exec(select(OutboxRecord).where(OutboxRecord.kind == SIGNIN_KIND)))


def test_one_client_cannot_flood_inboxes(server: DashboardServer, db_url: str) -> None:
    """Forty addresses asked from one client queue MAX_LINKS_PER_CLIENT emails, every answer
    reads alike, and a client from another address still gets its link."""
    flooder = server.client()
    for n in range(PEOPLE):
        answer = _ask(flooder, f"person{n}@union.example.org")
        assert answer.status_code == 200
        assert "is on its way" in answer.text
    rows = _queued(db_url)
    assert len(rows) == MAX_LINKS_PER_CLIENT
    assert all(re.fullmatch(r"[0-9a-f]{32}", row.context["client"]) for row in rows)  # hashed
    other = httpx.Client(
        base_url=server.url,
        timeout=30,
        transport=httpx.HTTPTransport(local_address="127.0.0.2"),
    )
    with other:
        assert _ask(other, f"person{PEOPLE - 1}@union.example.org").status_code == 200
    assert len(_queued(db_url)) == MAX_LINKS_PER_CLIENT + 1
