"""Webhooks: events become outbox rows in the command's transaction, and deliveries reach a
real receiver on loopback signed with HMAC-SHA256 over the timestamp and the body."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from sqlmodel import select

from cycle_engine import CycleEngine
from cycle_engine.api import create_app
from cycle_engine.api.webhooks import (
    SIGNATURE_HEADER,
    WebhookChannel,
    WebhookDeliveryError,
    WebhookSender,
    verify_signature,
)
from cycle_engine.notifications.delivery import OutboxSender
from cycle_engine.store.tables.outbox import WEBHOOK, OutboxRecord
from cycle_engine.testing import ManualClock
from tests.api.conftest import ServerThread, World, api_settings


class Receiver(HTTPServer):
    """Records every POST (headers and raw body); answers with `status`."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 204

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _pending(engine: CycleEngine) -> list[OutboxRecord]:
    with engine.db.read_session() as session:
        return list(
            session.exec(
                select(OutboxRecord)
                .where(OutboxRecord.channel == WEBHOOK)
                .order_by(OutboxRecord.id)
            )
        )  # type: ignore[arg-type]


async def _deliver(engine: CycleEngine, rows: list[OutboxRecord]) -> list[int]:
    sender = WebhookSender(engine.db, timeout=5)
    try:
        return [await sender.send(row) for row in rows]
    finally:
        await sender.aclose()


async def _run_outbox(engine: CycleEngine) -> dict[str, int]:
    """One pass of the durable outbox sender (the same loop as email) with the webhook channel."""
    sender = OutboxSender(engine.db, engine.clock, {"webhook": WebhookChannel(engine.db)})
    try:
        return (await sender.run_until_idle()).outcomes
    finally:
        await sender.close()


def test_deliveries_are_signed_and_verified_by_a_receiver(
    world: World, seed_engine: CycleEngine, receiver: Receiver
) -> None:
    """A stage change and a product each POST a signed event the receiver can verify."""
    cycle = world.ids["cycle_a"]
    with world.client("coord_a") as client:
        created = client.post(
            f"/api/v1/alliances/{world.ids['alliance_a']}/webhooks",
            json={"url": receiver.url, "events": ["stage.entered", "product.added"]},
        )
        assert created.status_code == 201, created.text
        secret, hook_id = created.json()["secret"], created.json()["id"]
        assert "secret" not in client.get(f"/api/v1/webhooks/{hook_id}").json()
    with world.client("partner_o1") as client:
        fired = client.post(
            f"/api/v1/cycles/{cycle}/transitions", json={"trigger": "questions_agreed"}
        )
        assert fired.status_code == 201
    with world.client("coord_a") as client:
        added = client.post(
            f"/api/v1/cycles/{cycle}/products",
            json={
                "kind": "learning_questions",
                "title": "Agreed questions",
                "link": "https://example.org/questions",
                "author_organisation_id": world.ids["o1"],
            },
        )
        assert added.status_code == 201, added.text
    rows = _pending(seed_engine)
    assert [r.kind for r in rows] == ["stage.entered", "product.added"]
    assert asyncio.run(_run_outbox(seed_engine)) == {"delivered": 2}
    assert {r.status for r in _pending(seed_engine)} == {"sent"}
    assert len(receiver.received) == 2
    for (headers, body), kind in zip(
        receiver.received, ["stage.entered", "product.added"], strict=True
    ):
        assert verify_signature(secret, headers[SIGNATURE_HEADER.lower()], body)
        assert not verify_signature(secret, headers[SIGNATURE_HEADER.lower()], body + b" ")
        assert not verify_signature("whsec_wrong", headers[SIGNATURE_HEADER.lower()], body)
        document = json.loads(body)
        assert document["event"] == kind == headers["x-cycleengine-event"]
        assert document["cycle"]["id"] == cycle
    assert json.loads(receiver.received[0][1])["stage"]["stage"] == "role_assignment"
    with world.client("manager_a") as client:
        log = client.get(f"/api/v1/webhooks/{hook_id}/deliveries").json()["items"]
        assert {(r["kind"], r["status"]) for r in log} == {
            ("stage.entered", "sent"),
            ("product.added", "sent"),
        }


def test_other_alliances_and_unsubscribed_events_get_nothing(
    world: World, seed_engine: CycleEngine, receiver: Receiver
) -> None:
    """Only the cycle's alliance's subscriptions to that event kind get a delivery."""
    with world.client("coord_b") as client:
        client.post(
            f"/api/v1/alliances/{world.ids['alliance_b']}/webhooks",
            json={"url": receiver.url, "events": ["stage.entered"]},
        )
    with world.client("coord_a") as client:
        client.post(
            f"/api/v1/alliances/{world.ids['alliance_a']}/webhooks",
            json={"url": receiver.url, "events": ["cycle.completed"]},
        )
        fired = client.post(
            f"/api/v1/cycles/{world.ids['cycle_a']}/transitions",
            json={"trigger": "questions_agreed"},
        )
        assert fired.status_code == 201
    assert _pending(seed_engine) == []


def test_failed_delivery_is_retried_by_the_outbox(
    world: World, seed_engine: CycleEngine, receiver: Receiver, clock: ManualClock
) -> None:
    """A receiver that answers 503 gets the same delivery again after the outbox's back-off."""
    with world.client("coord_a") as client:
        client.post(
            f"/api/v1/alliances/{world.ids['alliance_a']}/webhooks",
            json={"url": receiver.url, "events": ["stage.entered"]},
        )
        client.post(
            f"/api/v1/cycles/{world.ids['cycle_a']}/transitions",
            json={"trigger": "questions_agreed"},
        )
    receiver.status = 503
    assert asyncio.run(_run_outbox(seed_engine)) == {"retry": 1}
    assert _pending(seed_engine)[0].status == "pending"
    receiver.status = 204
    clock.advance(timedelta(hours=1))
    assert asyncio.run(_run_outbox(seed_engine)) == {"delivered": 1}
    bodies = [body for _, body in receiver.received]
    assert len(bodies) == 2 and bodies[0] == bodies[1]


def test_receiver_errors_are_transient_or_permanent(
    world: World, seed_engine: CycleEngine, receiver: Receiver
) -> None:
    """A 503 is retried later (transient); a 410 is not (permanent)."""
    with world.client("coord_a") as client:
        client.post(
            f"/api/v1/alliances/{world.ids['alliance_a']}/webhooks",
            json={"url": receiver.url, "events": ["stage.entered"]},
        )
        client.post(
            f"/api/v1/cycles/{world.ids['cycle_a']}/transitions",
            json={"trigger": "questions_agreed"},
        )
    rows = _pending(seed_engine)
    for status, permanent in ((503, False), (410, True)):
        receiver.status = status
        with pytest.raises(WebhookDeliveryError) as failure:
            asyncio.run(_deliver(seed_engine, rows))
        assert failure.value.permanent is permanent


def test_serve_runs_worker_and_sender_and_stops_cleanly(
    world: World,
    api_server: ServerThread,
    db_url: str,
    clock: ManualClock,
    tmp_path: Path,
    receiver: Receiver,
) -> None:
    """An app with RUN_WORKER and RUN_SENDER delivers a pending webhook by itself and its
    shutdown stops both services (the server thread ends)."""
    with world.client("coord_a") as client:
        client.post(
            f"/api/v1/alliances/{world.ids['alliance_a']}/webhooks",
            json={"url": receiver.url, "events": ["stage.entered"]},
        )
        client.post(
            f"/api/v1/cycles/{world.ids['cycle_a']}/transitions",
            json={"trigger": "questions_agreed"},
        )
    api_server.__exit__()
    settings = api_settings(db_url, tmp_path, run_worker=True, run_sender=True)
    app = create_app(settings, clock=clock)
    with ServerThread(app) as server:
        services = [s.name for s in app.state.services.running]
        assert services == ["scheduler", "outbox sender"]
        for _ in range(500):  # the sender's first pass runs at start; wait for its POST
            if receiver.received:
                break
            server.thread.join(0.02)
        assert len(receiver.received) == 1
    assert not server.thread.is_alive()
    assert app.state.services.running == []


def test_scheduler_overdue_becomes_a_webhook_delivery(
    world: World, api_server: ServerThread, seed_engine: CycleEngine, clock: ManualClock
) -> None:
    """A stage going overdue (a scheduler timer in the serving engine) queues a delivery."""
    with world.client("coord_a") as client:
        client.post(
            f"/api/v1/alliances/{world.ids['alliance_a']}/webhooks",
            json={"url": "http://127.0.0.1:9/hooks", "events": ["stage.overdue"]},
        )
    clock.advance(timedelta(weeks=4))
    serving_engine: CycleEngine = api_server.server.config.app.state.engine
    serving_engine.run_due_timers()
    rows = _pending(seed_engine)
    assert {(r.kind, r.cycle_id) for r in rows} == {("stage.overdue", world.ids["cycle_a"])}
    assert json.loads(rows[0].context["body"])["history"]["kind"] == "stage_overdue"
