"""Delivering the outbox to a real SMTP server (aiosmtpd on loopback) that misbehaves on cue."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from cycle_engine import CycleEngine
from cycle_engine.errors import InvalidInput
from cycle_engine.notifications.delivery import OutboxSender
from cycle_engine.notifications.render import Renderer
from cycle_engine.notifications.senders.base import TransientMailError
from cycle_engine.notifications.service import build_outbox_sender
from cycle_engine.notifications.settings import MailSettings, SmtpSettings
from cycle_engine.outbox.claims import ClaimPolicy
from cycle_engine.outbox.enqueue import Notice, enqueue
from cycle_engine.outbox.recipients import by_roles
from cycle_engine.store.tables.outbox import DIGEST, FAILED, SENT, OutboxRecord
from cycle_engine.testing import ManualClock
from tests.notifications.conftest import SmtpServer, World, build_world

SECRET = "test-secret-key-0123456789abcdef"
BASE_URL = "http://127.0.0.1:9"


def make_sender(
    world: World,
    server: SmtpServer,
    tmp_path: Path,
    *,
    policy: ClaimPolicy | None = None,
    engine: CycleEngine | None = None,
    renderer: Renderer | None = None,
    **smtp: object,
) -> OutboxSender:
    engine = engine or world.engine
    settings = MailSettings(
        smtp=server.settings(**smtp), secret_key=SECRET, base_url=BASE_URL, data_dir=tmp_path
    )
    sender = build_outbox_sender(engine, settings, mailer=server.sender(**smtp), renderer=renderer)
    if policy is not None:
        sender.policy = policy
    return sender


def deliver(sender: OutboxSender) -> None:
    async def run() -> None:
        try:
            await sender.run_until_idle()
        finally:
            await sender.close()

    asyncio.run(run())


def statuses(engine: CycleEngine) -> Counter[str]:
    return Counter(r.status for r in engine.outbox.messages(limit=1000))


def add_notices(world: World, count: int, kind: str = "marked_done") -> None:
    """`count` extra notices per person of the first stage (real rows, real dedupe keys)."""
    engine = world.engine
    with engine.db.transaction() as session:
        scope = world.first_stage_scope(session)
        people = by_roles(session, world.cycle_id, "question_workshop", ["focal_point", "lead"])
        for n in range(count):
            for person in people:
                details = {
                    "by": {"name": "Dario", "organisation": "Farmers"},
                    "product_url": None,
                    "note": None,
                }
                enqueue(
                    session,
                    scope,
                    Notice(kind=kind, rule="test", occurrence=n, to=person, details=details),
                )


def test_transient_replies_then_success_deliver_exactly_one_copy(
    world: World, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    """A 451 and a 421 leave their rows waiting with back-off; the next pass delivers each
    message exactly once."""
    world.engine.run_due_timers()
    smtp_server.handler.data_replies = ["451 4.3.0 try again later", "421 4.7.0 closing"]
    deliver(make_sender(world, smtp_server, tmp_path))
    assert statuses(world.engine) == {SENT: 2, "pending": 2}
    waiting = [r for r in world.engine.outbox.messages() if r.status == "pending"]
    assert all(r.next_attempt_at > world.clock.now() and r.last_error for r in waiting)
    world.clock.advance(timedelta(hours=1))
    deliver(make_sender(world, smtp_server, tmp_path))
    assert statuses(world.engine) == {SENT: 4}
    ids = smtp_server.handler.message_ids()
    assert sorted(ids) == sorted(r.message_id for r in world.engine.outbox.messages())
    assert {r.attempts for r in world.engine.outbox.messages()} == {1, 2}


def test_550_fails_permanently_with_the_servers_reply(
    world: World, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    """A 5xx reply marks the row failed with the server's reply, kept on the row and visible in
    the outbox, never retried; delivered rows keep the server's answer too."""
    world.engine.run_due_timers()
    smtp_server.handler.data_replies = ["550 5.7.1 message refused by policy"]
    deliver(make_sender(world, smtp_server, tmp_path))
    failed = world.engine.outbox.messages(status=FAILED)
    assert len(failed) == 1
    assert failed[0].last_error == "550 5.7.1 message refused by policy"
    assert world.engine.outbox.message(failed[0].id or 0).reply == failed[0].last_error
    sent = world.engine.outbox.messages(status=SENT)
    assert {r.reply for r in sent} == {"250 2.0.0 accepted"} and len(sent) == 3
    world.clock.advance(timedelta(days=1))
    deliver(make_sender(world, smtp_server, tmp_path))
    assert statuses(world.engine) == {SENT: 3, FAILED: 1}
    assert len(smtp_server.handler.received) == 3


def test_refused_recipients_are_recorded_one_by_one(
    world: World, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    """A partly refused envelope lists each refused address; a refused row keeps the server's
    answer per recipient."""
    smtp_server.handler.refuse["eve@donor.example.org"] = "550 5.1.1 no such user"
    message = b"From: ce@example.org\r\nSubject: hello\r\n\r\nhello\r\n"
    mailer = smtp_server.sender()

    async def send_both() -> None:
        try:
            result = await mailer.send(
                message,
                sender="ce@example.org",
                recipients=["ana@research.example.org", "eve@donor.example.org"],
            )
        finally:
            await mailer.close()
        assert [(r.address, r.code) for r in result.refused] == [("eve@donor.example.org", 550)]

    asyncio.run(send_both())
    world.engine.run_due_timers()
    deliver(make_sender(world, smtp_server, tmp_path))
    eve = next(r for r in world.engine.outbox.messages() if r.recipient.startswith("eve"))
    assert eve.status == FAILED and "no such user" in (eve.last_error or "")
    [answer] = world.engine.outbox.recipients(eve.id or 0)
    assert (answer.address, answer.accepted, answer.code) == ("eve@donor.example.org", False, 550)


def test_a_stalled_server_is_timed_out(
    world: World, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    """A server that never answers DATA is abandoned after the timeout; the rows wait."""
    world.engine.run_due_timers()
    smtp_server.handler.stall = True
    started = time.monotonic()
    deliver(make_sender(world, smtp_server, tmp_path, timeout=0.5))
    assert time.monotonic() - started < 5
    rows = world.engine.outbox.messages()
    assert {r.status for r in rows} == {"pending"}
    assert all("timed out" in (r.last_error or "") for r in rows)


def test_two_senders_deliver_each_row_once(
    world: World, smtp_server: SmtpServer, tmp_path: Path, db_url: str, clock: ManualClock
) -> None:
    """Two senders with their own connections, claiming in small batches at the same time,
    deliver every row exactly once."""
    add_notices(world, 25)
    expected = sorted(r.message_id for r in world.engine.outbox.messages(limit=1000))
    assert len(expected) == 75  # Ana, Ben and Dario, 25 each
    policy = ClaimPolicy(batch=5, hourly_cap=1000)
    errors: list[BaseException] = []

    def run_one() -> None:
        try:
            with CycleEngine(db_url, clock=clock) as engine:
                deliver(make_sender(world, smtp_server, tmp_path, policy=policy, engine=engine))
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=run_one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(smtp_server.handler.message_ids()) == expected
    assert statuses(world.engine) == {SENT: 75}


def test_flood_after_downtime_is_capped_into_the_digest(
    world: World, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    """Past the hourly cap a person's remaining emails wait for their digest, not lost."""
    add_notices(world, 5)
    deliver(make_sender(world, smtp_server, tmp_path, policy=ClaimPolicy(hourly_cap=2)))
    ana = [r for r in world.engine.outbox.messages(limit=1000) if r.recipient.startswith("ana")]
    assert Counter(r.status for r in ana) == {SENT: 2, "pending": 3}
    assert all(r.delivery == DIGEST for r in ana if r.status == "pending")


def test_digest_is_one_email_at_the_local_hour(
    world: World, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    """A digest reader gets nothing at once, then one digest listing their notices at their
    digest hour (07:00 in Bogotá is 12:00 UTC)."""
    world.engine.outbox.set_notification_preferences(
        world.person("ana"), mode="digest", digest_hour=7
    )
    add_notices(world, 3)
    deliver(make_sender(world, smtp_server, tmp_path))
    to_ana = [r for r in smtp_server.handler.received if "ana@" in r.rcpt_tos[0]]
    assert to_ana == []
    world.clock.advance(timedelta(hours=3))
    deliver(make_sender(world, smtp_server, tmp_path))
    to_ana = [r for r in smtp_server.handler.received if "ana@" in r.rcpt_tos[0]]
    assert len(to_ana) == 1
    message = to_ana[0].message
    assert str(message["Subject"]).startswith("Su resumen diario: 3")
    folded = [
        r
        for r in world.engine.outbox.messages(limit=1000)
        if r.recipient.startswith("ana") and r.kind == "marked_done"
    ]
    assert {r.status for r in folded} == {"digested"} and len({r.digest_id for r in folded}) == 1


def test_stage_started_email_has_headers_links_and_calendar_entry(
    world: World, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    """The stage-started email carries its fixed Message-ID, one-click unsubscribe headers,
    signed action links and the deadline as an ICS attachment."""
    world.engine.run_due_timers()
    deliver(make_sender(world, smtp_server, tmp_path))
    row = next(r for r in world.engine.outbox.messages() if r.recipient.startswith("ana"))
    [received] = [r for r in smtp_server.handler.received if r.message_id == row.message_id]
    message = received.message
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert str(message["List-Unsubscribe"]).startswith(f"<{BASE_URL}/email/unsubscribe?t=")
    text = message.get_body(preferencelist=("plain",))
    assert text is not None and f"{BASE_URL}/email/actions/done?t=" in text.get_content()
    [ics] = [
        part for part in message.iter_attachments() if part.get_content_type() == "text/calendar"
    ]
    body = ics.get_content()
    assert "BEGIN:VEVENT" in body and "DTSTART;TZID=America/Bogota:20260126T190000" in body


def test_hostile_names_are_escaped_and_inject_nothing(
    sqlite_url: str, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    """An organisation named `<script>...` with CR/LF and a person name with `Bcc:` reach one
    recipient only, add no header, and are escaped in the HTML part."""
    clock = ManualClock()
    with CycleEngine(sqlite_url, clock=clock) as engine:
        world = build_world(engine, clock, hostile=True)
        engine.run_due_timers()
        visit = engine.cycles.current_stage(world.cycle_id)
        assert visit is not None and visit.due_at is not None
        clock.set(visit.due_at + timedelta(days=6, hours=1))
        engine.run_due_timers()
        deliver(make_sender(world, smtp_server, tmp_path, policy=ClaimPolicy(hourly_cap=100)))
        sent = {r.message_id: r for r in engine.outbox.messages(limit=1000) if r.status == SENT}
    assert any(r.kind == "escalation" for r in sent.values())
    for received in smtp_server.handler.received:
        row: OutboxRecord = sent[received.message_id]
        assert received.rcpt_tos == [row.recipient]
        message = received.message
        assert message["Bcc"] is None
        assert len(message["To"].addresses) == 1
        header_block = received.content.split(b"\r\n\r\n", 1)[0]
        assert b"\nBcc:" not in header_block
        html = message.get_body(preferencelist=("html",))
        assert html is not None and "<script>" not in html.get_content()


def test_starttls_is_required_never_plain_text(smtp_server: SmtpServer) -> None:
    """With `starttls`, a server that does not offer it gets nothing, not a plain-text send;
    credentials without TLS are refused by the settings."""
    mailer = smtp_server.sender(tls="starttls")
    message = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: x\r\n\r\nsecret\r\n"

    async def attempt() -> None:
        try:
            await mailer.send(message, sender="a@example.org", recipients=["b@example.org"])
        finally:
            await mailer.close()

    with pytest.raises(TransientMailError, match=r"(?i)starttls"):
        asyncio.run(attempt())
    assert smtp_server.handler.received == []
    with pytest.raises(InvalidInput, match="TLS is required"):
        replace(smtp_server.settings(), username="u", password="p")
    with pytest.raises(InvalidInput, match="CYCLE_ENGINE_SMTP_TLS"):
        SmtpSettings(host="127.0.0.1", tls="ssl")  # type: ignore[arg-type]
