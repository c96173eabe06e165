"""Mail server outages on a manual clock: retried for as long as a message is worth sending,
never lost to a retry count, expired with a reason when it no longer is, and late mail that
says so in the reader's language."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from cycle_engine.notifications.render import Renderer
from cycle_engine.outbox.claims import ClaimPolicy
from cycle_engine.store.tables.alliances import PersonRecord
from cycle_engine.store.tables.outbox import DIGESTED, EXPIRED, FAILED, PENDING, SENT
from tests.notifications.conftest import Received, SmtpServer, World
from tests.notifications.test_smtp_delivery import add_notices, deliver, make_sender, statuses

POLICY = ClaimPolicy(hourly_cap=1000)
OUTAGE = "451 4.3.0 try again later"
LATE = {"en": "This message is late", "es": "llega con retraso", "fr": "arrive en retard"}


class Steps:
    """Moves the clock, firing due timers and running one sender each step (as `serve` does)."""

    def __init__(self, world: World, server: SmtpServer, tmp_path: Path) -> None:
        self.world, self.server, self.tmp_path = world, server, tmp_path
        self.renderer = Renderer()

    def run(self) -> None:
        self.world.engine.run_due_timers()
        sender = make_sender(
            self.world, self.server, self.tmp_path, policy=POLICY, renderer=self.renderer
        )
        deliver(sender)

    def until(self, moment: datetime, step: timedelta) -> None:
        while self.world.clock.now() < moment:
            self.world.clock.set(min(moment, self.world.clock.now() + step))
            self.run()


def text_of(received: Received) -> str:
    body = received.message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def says_late(received: Received) -> bool:
    return any(sentence in text_of(received) for sentence in LATE.values())


def test_long_outage_loses_nothing(world: World, smtp_server: SmtpServer, tmp_path: Path) -> None:
    """A day without a mail server, twelve hours answering 451 and twelve refusing connections:
    every row keeps being retried (far past the eight attempts that used to end it), nothing
    fails or expires, and once the server is back every message is accepted exactly once, Ana's
    digest with all six notices folded into it, each saying that it is late."""
    engine = world.engine
    engine.outbox.set_notification_preferences(world.person("ana"), mode="digest", digest_hour=6)
    engine.run_due_timers()
    add_notices(world, 5)
    start = world.clock.now()
    steps = Steps(world, smtp_server, tmp_path)
    smtp_server.handler.outage = OUTAGE
    steps.until(start + timedelta(hours=12), timedelta(hours=1))
    smtp_server.stop()  # the server dies: connections refused
    steps.until(start + timedelta(hours=24), timedelta(hours=1))
    waiting = engine.outbox.messages(limit=1000)
    assert smtp_server.handler.received == []
    assert Counter(r.status for r in waiting) == {PENDING: 14, DIGESTED: 6}
    assert max(r.attempts for r in waiting) >= 20
    assert all("Connect call failed" in (r.last_error or "") for r in waiting if r.attempts)

    smtp_server.handler.outage = None
    smtp_server.start()
    steps.until(start + timedelta(hours=25), timedelta(minutes=30))  # back-off is capped
    rows = engine.outbox.messages(limit=1000)
    assert statuses(engine) == {SENT: 14, DIGESTED: 6}
    received = Counter(smtp_server.handler.message_ids())
    assert received == Counter(r.message_id for r in rows if r.status == SENT)  # once each
    [digest] = [r for r in rows if r.kind == "digest"]
    folded = [r for r in rows if r.status == DIGESTED]
    assert {(r.digest_id, r.sent_at) for r in folded} == {(digest.id, digest.sent_at)}
    assert {r.recipient for r in folded} == {"ana@research.example.org"}
    assert all(says_late(r) for r in smtp_server.handler.received)
    assert {(r.attempts > 8, r.possible_duplicate) for r in rows if r.status == SENT} == {
        (True, False)
    }


def test_reminder_past_its_deadline_expires_and_due_today_says_it_is_late(
    world: World, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    """The server refuses mail from an hour before the "day before" reminder until four hours
    after the deadline: the reminder expires with the reason and the server's last reply
    instead of arriving after the deadline it announces; "due today" still goes out, once per
    person, saying in Spanish, English and French that it is late."""
    engine = world.engine
    with engine.db.transaction() as session:  # Dario reads French
        dario = session.get(PersonRecord, world.person("dario"))
        assert dario is not None
        dario.language = "fr"
    visit = engine.cycles.current_stage(world.cycle_id)
    assert visit is not None and visit.due_at is not None
    due = visit.due_at
    steps = Steps(world, smtp_server, tmp_path)
    steps.run()
    steps.until(due - timedelta(days=1, hours=1), timedelta(days=1))
    on_time = len(smtp_server.handler.received)
    assert on_time > 0 and not any(says_late(r) for r in smtp_server.handler.received)

    smtp_server.handler.outage = OUTAGE
    steps.until(due + timedelta(hours=3), timedelta(hours=1))
    smtp_server.handler.outage = None
    steps.until(due + timedelta(hours=4), timedelta(hours=1))
    rows = engine.outbox.messages(limit=1000)
    day_before = [r for r in rows if r.rule == "day_before"]
    assert day_before and {r.status for r in day_before} == {EXPIRED}
    for row in day_before:
        assert row.last_error is not None
        assert row.last_error.startswith("expired undelivered: the step's deadline")
        assert row.last_error.endswith(f"last error: {OUTAGE}")
        assert row.reply == OUTAGE
    due_today = {r.message_id: r for r in rows if r.kind == "due_today"}
    assert {r.status for r in due_today.values()} == {SENT}
    late = [r for r in smtp_server.handler.received[on_time:] if r.message_id in due_today]
    assert Counter(r.message_id for r in late) == Counter(list(due_today))  # once each
    languages = {due_today[r.message_id].language: text_of(r) for r in late}
    assert sorted(languages) == ["en", "es", "fr"]
    assert all(LATE[language] in text for language, text in languages.items())
    assert not any(r.message_id in {m.message_id for m in day_before} for r in late)


def test_digest_keeps_notices_until_delivered(
    world: World, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    """A digest made during a ten-hour outage keeps its four notices (the stage's start and
    three others; folded, not sent) and is delivered with all of them when the server returns;
    the next day's digest is refused for good (550): it fails with the server's reply and its
    notices fail with it, visibly."""
    engine = world.engine
    engine.outbox.set_notification_preferences(world.person("ana"), mode="digest", digest_hour=7)
    add_notices(world, 3)
    start = world.clock.now()
    steps = Steps(world, smtp_server, tmp_path)
    smtp_server.handler.outage = OUTAGE
    steps.until(start + timedelta(hours=13), timedelta(hours=1))
    [digest] = [r for r in engine.outbox.messages(limit=1000) if r.kind == "digest"]
    folded = [r for r in engine.outbox.messages(limit=1000) if r.digest_id == digest.id]
    assert (digest.status, len(folded)) == (PENDING, 4) and digest.attempts > 8
    assert {(r.status, r.sent_at) for r in folded} == {(DIGESTED, None)}

    smtp_server.handler.outage = None
    steps.until(start + timedelta(hours=14), timedelta(minutes=30))
    digest = engine.outbox.message(digest.id or 0)
    assert digest.status == SENT
    [received] = [r for r in smtp_server.handler.received if r.message_id == digest.message_id]
    assert str(received.message["Subject"]).startswith("Con retraso: Su resumen diario: 4")
    folded = [engine.outbox.message(r.id or 0) for r in folded]
    assert {(r.status, r.sent_at) for r in folded} == {(DIGESTED, digest.sent_at)}

    add_notices(world, 5)  # occurrences 3 and 4 are new: two more notices for Ana
    smtp_server.handler.refuse["ana@research.example.org"] = "550 5.1.1 mailbox unavailable"
    steps.until(start + timedelta(days=1, hours=4), timedelta(hours=1))
    [refused] = [
        r for r in engine.outbox.messages(limit=1000) if r.kind == "digest" and r.id != digest.id
    ]
    assert (refused.status, refused.reply) == (FAILED, "550 5.1.1 mailbox unavailable")
    lost_with_it = [r for r in engine.outbox.messages(limit=1000) if r.digest_id == refused.id]
    assert len(lost_with_it) == 2 and {r.status for r in lost_with_it} == {FAILED}
    assert all(
        (r.last_error or "").startswith(f"its digest {refused.message_id} failed: 550")
        for r in lost_with_it
    )
