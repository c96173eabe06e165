"""The budget desk's own tests: its app over real HTTP on loopback, the engine mounted under /ce,
the desk's guard, listener and subscriber in the engine, and the desk's clock moving time."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import cycle_engine.api
import httpx
import pytest
import uvicorn
from cycle_engine import CycleEngine
from cycle_engine.api import Settings
from cycle_engine.testing import ManualClock
from cycle_engine.testing_db import SqliteFactory

import api
from api.app import create_host_app
from api.audit import AuditTrail, CommittedChanges
from api.budgets import BUDGET_APPROVED, BudgetBook

PROJECT = Path(__file__).resolve().parents[1]
TEMPLATES = PROJECT / "templates"
SECRET = "budget-desk-test-secret-0123456789-abcdefgh"


@dataclass
class Desk:
    """The desk running for one test: its engine, book, subscriber, clock and HTTP client."""

    engine: CycleEngine
    book: BudgetBook
    committed: CommittedChanges
    clock: ManualClock
    http: httpx.Client
    alliance_id: int

    def start_purchase(self, title: str) -> int:
        answer = self.http.post(
            "/ce/api/v1/cycles",
            json={"template_key": "purchase", "title": title, "alliance_id": self.alliance_id},
        )
        assert answer.status_code == 201, answer.text
        return int(answer.json()["id"])

    def order(self, cycle_id: int) -> httpx.Response:
        return self.http.post(
            f"/ce/api/v1/cycles/{cycle_id}/transitions", json={"trigger": "order"}
        )


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    database_url = SqliteFactory(tmp_path).new(tmp_path)
    book = BudgetBook(database_url)
    book.create_tables()
    clock = ManualClock()
    committed = CommittedChanges(book)
    engine = CycleEngine(
        database_url,
        clock=clock,
        guards=[BUDGET_APPROVED],
        listeners=[AuditTrail()],
        subscribers=[committed],
        data_dir=tmp_path / "data",
    )
    engine.templates.publish_file(TEMPLATES / "purchase.yaml")
    alliance = engine.alliances.create_alliance("Budget desk", "Field equipment")
    assert alliance.id is not None
    token = engine.alliances.credentials.create_key(name="desk", role="admin").token
    listener = socket.socket()
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms per request
    listener.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    settings = Settings(
        secret_key=SECRET,
        base_url=f"{url}/ce",
        run_worker=False,
        run_sender=False,
        data_dir=str(tmp_path / "data"),
    )
    app = create_host_app(engine, book, settings)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", ws="none"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the desk's app failed to start"
        thread.join(0.01)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
            yield Desk(engine, book, committed, clock, http, alliance.id)
    finally:
        server.should_exit = True
        thread.join(10)
        listener.close()
        engine.close()
        book.close()


def test_the_desks_api_package_is_its_own() -> None:
    """`import api` is the desk's package; the engine's HTTP layer is `cycle_engine.api`."""
    assert Path(api.__file__).resolve() == PROJECT / "api" / "__init__.py"
    assert PROJECT not in Path(cycle_engine.api.__file__).resolve().parents


def test_guard_blocks_until_the_budget_is_approved(desk: Desk) -> None:
    """Ordering answers 409 with the desk's reason until the desk approves the budget; then it
    fires, and the subscriber hears of it after commit (the listener's audit row is durable)."""
    cycle_id = desk.start_purchase("Field laptops")
    blocked = desk.order(cycle_id)
    assert blocked.status_code == 409
    assert blocked.json()["reasons"] == [
        "the budget desk has not approved this purchase's budget yet"
    ]
    assert [seen.kind for seen in desk.committed.seen] == ["started"]

    approved = desk.http.post(
        f"/budgets/{cycle_id}/approval", params={"approved_by": "finance@desk.example.org"}
    )
    assert approved.status_code == 204
    ordered = desk.order(cycle_id)
    assert ordered.status_code == 201, ordered.text
    last = desk.committed.seen[-1]
    assert (last.cycle_id, last.trigger, last.to_state) == (cycle_id, "order", "ordering")
    assert all(seen.committed for seen in desk.committed.seen)


def test_worker_runs_on_the_desks_clock(desk: Desk) -> None:
    """Moving the desk's clock past the deadline and running the worker fires the purchase's
    timers: the stage is overdue, by the engine's own account and over HTTP."""
    cycle_id = desk.start_purchase("Spectrometer")
    assert desk.engine.run_due_timers().fired == 0
    desk.clock.advance(timedelta(days=8))
    result = desk.engine.run_due_timers()
    assert result.fired >= 1
    assert result.failed == 0
    assert [row.cycle_id for row in desk.engine.overdue()] == [cycle_id]
    cycle = desk.http.get(f"/ce/api/v1/cycles/{cycle_id}").json()
    assert cycle["state"] == "request"
    blocked = {t["trigger"]: t for t in cycle["triggers"]}["order"]
    assert blocked["allowed"] is False


def test_dashboard_lives_under_the_prefix(desk: Desk) -> None:
    """The engine's dashboard answers under /ce, its stylesheet too."""
    page = desk.http.get("/ce/dashboard/signin")
    assert page.status_code == 200
    assert 'href="/ce/dashboard/static/dashboard.css"' in page.text
    assert desk.http.get("/ce/dashboard/static/dashboard.css").status_code == 200
