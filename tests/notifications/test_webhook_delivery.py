"""Webhook deliveries leave through the outbox's sender loop, signed, to a real HTTP receiver on
loopback (allowed, as a deployment allows its internal receivers, in CYCLE_ENGINE_WEBHOOK_ALLOW);
`cycle-engine mail send` delivers them in the same run as the emails."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from cycle_engine import CycleEngine
from cycle_engine.notifications.delivery import OutboxSender
from cycle_engine.notifications.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    WebhookChannel,
    sign,
    verify_signature,
)
from cycle_engine.outbox.addresses import AddressPolicy
from cycle_engine.outbox.claims import Delivered, Failed, Outcome, Retry
from cycle_engine.store.tables.access import WebhookSubscriptionRecord
from cycle_engine.store.tables.outbox import EMAIL, EXPIRED, SENT, WEBHOOK, OutboxRecord
from cycle_engine.testing import ManualClock
from tests.notifications.conftest import SmtpServer, World, build_world
from tests.notifications.webhook_receiver import WebhookReceiver

SECRET = "whsec_test-receiver-secret"
#: The receiver listens on loopback, which webhooks reach only when a deployment allows it.
LOOPBACK = AddressPolicy.allowing("127.0.0.1")


def subscribe(world: World, url: str, *, active: bool = True) -> int:
    """A subscription of the world's alliance to "stage.entered" (what the API's POST makes)."""
    with world.engine.db.transaction() as session:
        record = WebhookSubscriptionRecord(
            alliance_id=world.alliance_id,
            url=url,
            secret=SECRET,
            events=["stage.entered"],
            active=active,
            created_at=world.clock.now(),
        )
        session.add(record)
        session.flush()
        assert record.id is not None
        return record.id


def start_second_cycle(world: World) -> int:
    """Start another cycle in the alliance: its first stage is entered (one delivery)."""
    cycle = world.engine.start_cycle(
        "learning-cycle",
        "Seed systems for smallholders",
        alliance_id=world.alliance_id,
        questions=["Which seeds do farmers trust?"],
    )
    assert cycle.id is not None
    return cycle.id


def webhook_rows(engine: CycleEngine) -> list[OutboxRecord]:
    with engine.db.read_session() as session:
        query = select(OutboxRecord).where(OutboxRecord.channel == WEBHOOK)
        return list(session.exec(query.order_by(col(OutboxRecord.id))))


def run_webhooks(engine: CycleEngine) -> dict[str, int]:
    """One run of the sender loop with only the webhook channel; the outcome counts."""

    async def run() -> dict[str, int]:
        channel = WebhookChannel(engine.db, addresses=LOOPBACK)
        sender = OutboxSender(engine.db, engine.clock, {WEBHOOK: channel})
        try:
            return (await sender.run_until_idle()).outcomes
        finally:
            await sender.close()

    return asyncio.run(run())


def deliver_row(engine: CycleEngine, row: OutboxRecord) -> Outcome:
    async def run() -> Outcome:
        channel = WebhookChannel(engine.db, timeout=5, addresses=LOOPBACK)
        try:
            return await channel.deliver(row, engine.clock.now())
        finally:
            await channel.close()

    return asyncio.run(run())


def test_signature_format_is_stable() -> None:
    """The header is `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, accepted
    within five minutes of its timestamp and refused when anything differs."""
    body = b'{"event":"stage.entered"}'
    header = sign("whsec_golden", 1767603600, body)
    assert header == (
        "t=1767603600,v1=2fbe28e29aaf3f6e31f3223e6bd79ebe805741da4ec37748ecb941e14f4c003b"
    )
    assert verify_signature("whsec_golden", header, body, now=1767603600 + 300)
    assert not verify_signature("whsec_golden", header, body, now=1767603600 + 301)
    assert not verify_signature("whsec_golden", header, body + b" ", now=1767603600)
    assert not verify_signature("whsec_other", header, body, now=1767603600)
    assert not verify_signature("whsec_golden", "v1=abc", body, now=1767603600)


def test_failed_delivery_is_retried_by_the_outbox(
    world: World, webhook_receiver: WebhookReceiver
) -> None:
    """A receiver that answers 503 gets the same body again after the outbox's back-off."""
    subscribe(world, webhook_receiver.url)
    start_second_cycle(world)
    webhook_receiver.status = 503
    assert run_webhooks(world.engine) == {"retry": 1}
    [row] = webhook_rows(world.engine)
    assert row.status == "pending" and row.last_error == "the receiver answered 503"
    webhook_receiver.status = 204
    assert run_webhooks(world.engine) == {}  # backing off: nothing is due yet
    world.clock.advance(timedelta(hours=1))
    assert run_webhooks(world.engine) == {"delivered": 1}
    assert [r.status for r in webhook_rows(world.engine)] == [SENT]
    bodies = [body for _, body in webhook_receiver.received]
    assert len(bodies) == 2 and bodies[0] == bodies[1]


def test_receiver_down_for_a_week_expires_with_the_reason(
    world: World, webhook_receiver: WebhookReceiver
) -> None:
    """A receiver answering 503 for over a week gets the delivery retried each day until its
    seven days are over, not given up after a count; then it expires with the reason and the
    receiver's last answer, and is never POSTed again."""
    subscribe(world, webhook_receiver.url)
    start_second_cycle(world)
    webhook_receiver.status = 503
    outcomes: Counter[str] = Counter()
    for _ in range(9):
        outcomes.update(run_webhooks(world.engine))
        world.clock.advance(timedelta(days=1))
    [row] = webhook_rows(world.engine)
    assert outcomes == {"retry": 7} and row.attempts == 7
    assert row.status == EXPIRED and row.reply == "HTTP 503"
    assert (row.last_error or "").startswith("expired undelivered: it was worth sending until")
    assert (row.last_error or "").endswith("last error: the receiver answered 503")
    assert len(webhook_receiver.received) == 7


def test_receiver_errors_are_transient_or_permanent(
    world: World, webhook_receiver: WebhookReceiver
) -> None:
    """5xx, 408 and 429 are retried; other 4xx, a paused subscription and a removed one fail
    for good; 2xx is delivered."""
    hook = subscribe(world, webhook_receiver.url)
    start_second_cycle(world)
    [row] = webhook_rows(world.engine)
    for status, outcome in ((503, Retry), (408, Retry), (429, Retry), (410, Failed)):
        webhook_receiver.status = status
        assert type(deliver_row(world.engine, row)) is outcome, status
    webhook_receiver.status = 200
    assert deliver_row(world.engine, row) == Delivered(response="HTTP 200")
    with world.engine.db.transaction() as session:
        record = session.get(WebhookSubscriptionRecord, hook)
        assert record is not None
        record.active = False
        session.add(record)
    assert deliver_row(world.engine, row) == Failed(error="the subscription is paused")
    with world.engine.db.transaction() as session:
        session.delete(record)
    assert deliver_row(world.engine, row) == Failed(error="the subscription was removed")
    assert len(webhook_receiver.received) == 5


@pytest.mark.process
def test_mail_send_delivers_emails_and_webhooks_in_one_run(
    engine: CycleEngine,
    clock: ManualClock,
    db_url: str,
    smtp_server: SmtpServer,
    webhook_receiver: WebhookReceiver,
    tmp_path: Path,
) -> None:
    """One `cycle-engine mail send` process delivers the due emails to a real SMTP server and
    the due webhook, signed with the subscription's secret, to a real HTTP receiver."""
    clock.set(datetime.now(UTC) - timedelta(minutes=5))  # the process runs on the system clock
    world = build_world(engine, clock)
    subscribe(world, webhook_receiver.url)
    world.engine.run_due_timers()
    second = start_second_cycle(world)
    queued = world.engine.outbox.messages()
    assert {r.channel for r in queued} == {EMAIL, WEBHOOK}

    env = {k: v for k, v in os.environ.items() if not k.startswith("CYCLE_ENGINE_")}
    env.update(
        {
            "CYCLE_ENGINE_SMTP_HOST": smtp_server.host,
            "CYCLE_ENGINE_SMTP_PORT": str(smtp_server.port),
            "CYCLE_ENGINE_SMTP_TLS": "none",
            "CYCLE_ENGINE_SMTP_TIMEOUT": "10",
            "CYCLE_ENGINE_SECRET_KEY": "test-secret-key-0123456789abcdef",
            "CYCLE_ENGINE_DATA_DIR": str(tmp_path / "data"),
            "CYCLE_ENGINE_WEBHOOK_ALLOW": "127.0.0.1",
            "PYTHONWARNINGS": "error",
        }
    )
    sent = subprocess.run(
        [sys.executable, "-m", "cycle_engine", "mail", "send", "--db", db_url],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert sent.returncode == 0, sent.stderr
    assert "webhooks" in sent.stdout and "'delivered': 5" in sent.stdout, sent.stdout

    rows = world.engine.outbox.messages()
    assert {r.status for r in rows} == {SENT}
    emails = sorted(r.message_id for r in rows if r.channel == EMAIL)
    assert len(emails) == 4 and sorted(smtp_server.handler.message_ids()) == emails
    [hook_row] = [r for r in rows if r.channel == WEBHOOK]
    [(headers, body)] = webhook_receiver.received
    assert verify_signature(SECRET, headers[SIGNATURE_HEADER.lower()], body)
    assert not verify_signature("whsec_other", headers[SIGNATURE_HEADER.lower()], body)
    document = json.loads(body)
    assert document["event"] == headers[EVENT_HEADER.lower()] == "stage.entered"
    assert document["cycle"]["id"] == second
    assert document["delivery_id"] == headers[DELIVERY_HEADER.lower()] == hook_row.message_id
