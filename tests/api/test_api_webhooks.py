"""Webhook subscriptions over the API: events of the subscribed alliance become outbox rows in
the command's transaction, and the outbox sender (in `serve`, or `cycle-engine mail send`)
delivers them to a real receiver on loopback (allowed here, as a deployment allows internal
receivers in CYCLE_ENGINE_WEBHOOK_ALLOW), signed with the secret the API showed once.
How a delivery is signed and retried is tested with the sender, in
tests/notifications/test_webhook_delivery.py."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlmodel import col, select

from cycle_engine import CycleEngine
from cycle_engine.api import create_app
from cycle_engine.notifications.delivery import OutboxSender
from cycle_engine.notifications.webhooks import SIGNATURE_HEADER, WebhookChannel, verify_signature
from cycle_engine.outbox.addresses import AddressPolicy
from cycle_engine.store.tables.outbox import WEBHOOK, OutboxRecord
from cycle_engine.testing import ManualClock
from tests.api.conftest import ServerThread, World, api_settings
from tests.notifications.webhook_receiver import WebhookReceiver, running_receiver

#: The test receiver listens on loopback, which a deployment must allow (WEBHOOK_ALLOW).
LOOPBACK = AddressPolicy.allowing("127.0.0.1")


@pytest.fixture
def api_server(db_url: str, clock: ManualClock, tmp_path: Path) -> Iterator[ServerThread]:
    """The app as tests/api/conftest.py serves it, allowing webhooks to loopback receivers."""
    settings = api_settings(db_url, tmp_path, webhook_allow="127.0.0.1")
    with ServerThread(create_app(settings, clock=clock)) as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with running_receiver() as server:
        yield server


def _pending(engine: CycleEngine) -> list[OutboxRecord]:
    with engine.db.read_session() as session:
        query = select(OutboxRecord).where(OutboxRecord.channel == WEBHOOK)
        return list(session.exec(query.order_by(col(OutboxRecord.id))))


async def _run_outbox(engine: CycleEngine) -> dict[str, int]:
    """One pass of the durable outbox sender (the same loop as email) with the webhook channel."""
    channel = WebhookChannel(engine.db, addresses=LOOPBACK)
    sender = OutboxSender(engine.db, engine.clock, {"webhook": channel})
    try:
        return (await sender.run_until_idle()).outcomes
    finally:
        await sender.close()


def test_deliveries_are_signed_and_verified_by_a_receiver(
    world: World, seed_engine: CycleEngine, receiver: WebhookReceiver
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
    # one batch goes out concurrently: receivers order events by `history.seq`, not arrival
    received = {
        headers["x-cycleengine-event"]: (headers, body) for headers, body in receiver.received
    }
    assert sorted(received) == ["product.added", "stage.entered"]
    for kind, (headers, body) in received.items():
        assert verify_signature(secret, headers[SIGNATURE_HEADER.lower()], body)
        assert not verify_signature(secret, headers[SIGNATURE_HEADER.lower()], body + b" ")
        assert not verify_signature("whsec_wrong", headers[SIGNATURE_HEADER.lower()], body)
        document = json.loads(body)
        assert document["event"] == kind
        assert document["cycle"]["id"] == cycle
    assert json.loads(received["stage.entered"][1])["stage"]["stage"] == "role_assignment"
    with world.client("manager_a") as client:
        log = client.get(f"/api/v1/webhooks/{hook_id}/deliveries").json()["items"]
        assert {(r["kind"], r["status"]) for r in log} == {
            ("stage.entered", "sent"),
            ("product.added", "sent"),
        }


def test_other_alliances_and_unsubscribed_events_get_nothing(
    world: World, seed_engine: CycleEngine, receiver: WebhookReceiver
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


def test_serve_runs_worker_and_sender_and_stops_cleanly(
    world: World,
    api_server: ServerThread,
    db_url: str,
    clock: ManualClock,
    tmp_path: Path,
    receiver: WebhookReceiver,
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
    settings = api_settings(
        db_url, tmp_path, run_worker=True, run_sender=True, webhook_allow="127.0.0.1"
    )
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
    app = api_server.server.config.app
    assert isinstance(app, FastAPI)
    serving_engine: CycleEngine = app.state.engine
    serving_engine.run_due_timers()
    rows = _pending(seed_engine)
    assert {(r.kind, r.cycle_id) for r in rows} == {("stage.overdue", world.ids["cycle_a"])}
    assert json.loads(rows[0].context["body"])["history"]["kind"] == "stage_overdue"
