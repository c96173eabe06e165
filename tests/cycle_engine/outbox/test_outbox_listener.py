"""The outbox listener: who gets which email, once, written with the event that causes it."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from cycle_engine.actors import Actor
from cycle_engine.outbox.enqueue import Notice, enqueue
from cycle_engine.outbox.recipients import by_roles
from cycle_engine.outbox.signin import MAX_LINKS_PER_WINDOW, SignInLink, queue_signin_email
from cycle_engine.store.tables.alliances import PersonRecord
from cycle_engine.store.tables.outbox import DIGEST, PENDING, SUPPRESSED, OutboxRecord
from tests.cycle_engine.outbox.conftest import World

COORDINATOR = Actor(name="cora", role="coordinator")


def rows_of(world: World, kind: str) -> list[OutboxRecord]:
    return [r for r in world.engine.outbox.messages(limit=1000) if r.kind == kind]


def recipients(rows: list[OutboxRecord]) -> set[str]:
    return {r.recipient.split("@")[0] for r in rows}


def step_days(world: World, until: datetime) -> None:
    """Move the clock a day at a time, firing due timers each day (as a worker would)."""
    while world.clock.now() < until:
        world.clock.advance(timedelta(days=1))
        world.engine.run_due_timers()


def test_kickoff_reminder_is_the_stage_started_email_to_each_role_once(world: World) -> None:
    """The zero-offset entry reminder emails focal points, lead, active and informed people
    once each, in their own language, with a dedupe key naming cycle, stage, rule, recipient."""
    world.engine.run_due_timers()
    world.engine.run_due_timers()
    rows = rows_of(world, "stage_started")
    assert recipients(rows) == {"ana", "ben", "dario", "eve"}
    assert len(rows) == 4
    by_name = {r.recipient.split("@")[0]: r for r in rows}
    assert by_name["ana"].language == "es" and by_name["ben"].language == "en"
    assert by_name["ana"].dedupe_key == (
        f"{world.cycle_id}:question_workshop(1):kickoff:1:ana@research.example.org"
    )
    # the cycle starts: every organisation's people may also choose its level (issue 12)
    steps = ["acknowledge", "done", "extend", "snooze"]
    assert by_name["ana"].context["actions"] == [*steps, "level"]
    assert by_name["eve"].context["actions"] == ["level"]  # informed: no step to act on
    assert all(r.message_id.startswith("<") and r.message_id.endswith(">") for r in rows)


def test_second_insert_with_the_same_key_is_ignored(world: World) -> None:
    """Enqueuing the same notice twice leaves one row (the unique dedupe key decides)."""
    engine = world.engine
    with engine.db.transaction() as session:
        scope = world.first_stage_scope(session)
        ana = next(
            a
            for a in by_roles(session, world.cycle_id, "question_workshop", ["focal_point"])
            if a.person.email.startswith("ana")
        )
        notice = Notice(kind="reminder", rule="nudge", occurrence=7, to=ana)
        assert enqueue(session, scope, notice) is True
        assert enqueue(session, scope, notice) is False
    assert len([r for r in engine.outbox.messages(limit=1000) if r.rule == "nudge"]) == 1


def test_overdue_step_climbs_the_escalation_ladder(world: World) -> None:
    """Overdue reminders go to the focal point; the second tells the deputy, the third the lead
    organisation's other people, and the escalation the coordinator."""
    visit = world.engine.cycles.current_stage(world.cycle_id)
    assert visit is not None and visit.due_at is not None
    step_days(world, visit.due_at + timedelta(days=13))
    overdue = rows_of(world, "overdue")
    assert {"ana", "ben"} <= recipients(overdue)
    escalations = {
        (r.occurrence, r.recipient.split("@")[0], r.context["details"]["level"])
        for r in rows_of(world, "escalation")
    }
    assert (2, "ben", "deputy") in escalations
    assert (3, "carla", "organisation_lead") in escalations
    assert (4, "cora", "coordinator") in escalations
    carla = next(r for r in rows_of(world, "escalation") if r.recipient.startswith("carla"))
    assert carla.context["details"]["responsible"]["name"] == "Ana Pérez"
    assert carla.language == "fr"
    keys = [r.dedupe_key for r in world.engine.outbox.messages(limit=1000)]
    assert len(keys) == len(set(keys))


def test_stalled_stage_alerts_the_manager(world: World) -> None:
    """Fourteen days without activity sends a stall alert to the alliance's manager only."""
    step_days(world, world.clock.now() + timedelta(days=15))
    stalled = rows_of(world, "stalled")
    assert recipients(stalled) == {"max"}
    assert stalled[0].context["details"]["idle_days"] >= 14


def test_completed_stage_sends_results_to_informed_organisations(world: World) -> None:
    """Moving on sends the finished stage's results to lead, active and informed people,
    and no "stage started" email for a stage whose kickoff reminder will do it."""
    world.engine.fire(world.cycle_id, "questions_agreed", actor=COORDINATOR)
    completed = rows_of(world, "stage_completed")
    assert recipients(completed) == {"ana", "ben", "dario", "eve"}
    details = completed[0].context["details"]
    assert details["next_stage"] == {"key": "role_assignment", "title": "Role assignment"}
    assert completed[0].stage == "question_workshop"
    assert rows_of(world, "stage_started") == []


def test_digest_readers_rows_wait_for_their_local_hour(world: World) -> None:
    """A person who chose a daily digest at 07:00 has their emails held to 07:00 in their
    zone; an unsubscribed kind is kept as suppressed, not dropped."""
    engine = world.engine
    engine.outbox.set_notification_preferences(world.person("ana"), mode="digest", digest_hour=7)
    engine.outbox.set_notification_preferences(world.person("eve"), unsubscribed=["stage_started"])
    engine.run_due_timers()
    rows = {r.recipient.split("@")[0]: r for r in rows_of(world, "stage_started")}
    assert rows["ana"].delivery == DIGEST
    assert rows["ana"].next_attempt_at == datetime.fromisoformat("2026-01-05T12:00:00+00:00")
    assert rows["eve"].status == SUPPRESSED and "switched off" in (rows["eve"].last_error or "")
    assert rows["ben"].status == PENDING
    engine.outbox.set_notification_preferences(world.person("ana"), mode="immediate")
    assert engine.outbox.message(rows["ana"].id or 0).delivery == "immediate"


def test_snooze_holds_the_persons_waiting_reminders(world: World) -> None:
    """Snoozing from an email moves the person's pending reminders for the step to its end."""
    engine = world.engine
    engine.run_due_timers()
    visit = engine.cycles.current_stage(world.cycle_id)
    assert visit is not None and visit.id is not None
    result = engine.outbox.record_email_action(
        action="snooze",
        person_id=world.person("ana"),
        cycle_id=world.cycle_id,
        stage_visit_id=visit.id,
        use_key="snooze-test",
        data={"days": 3},
    )
    assert result.performed
    ana = next(r for r in rows_of(world, "stage_started") if r.recipient.startswith("ana"))
    assert ana.next_attempt_at == world.clock.now() + timedelta(days=3)
    history = Counter(e.kind for e in engine.history(world.cycle_id))
    assert history["snoozed"] == 1


def test_signin_emails_are_capped_per_link_lifetime(world: World) -> None:
    """A sign-in email goes to the person who asked, in their language, with a Message-ID
    naming the link; past MAX_LINKS_PER_WINDOW within one link lifetime nothing more is queued
    until the window has passed."""
    lifetime = timedelta(minutes=15)

    def ask(token_id: str) -> OutboxRecord | None:
        now = world.clock.now()
        link = SignInLink(
            token_id=token_id,
            url=f"https://ce.example.org/dashboard/signin/confirm?token={token_id}",
            expires_at=now + lifetime,
        )
        with world.engine.db.transaction() as session:
            person = session.get(PersonRecord, world.person("ana"))
            assert person is not None
            return queue_signin_email(session, person, link, now=now)

    first = ask("t0")
    assert first is not None
    assert (first.recipient, first.language, first.kind) == (
        "ana@research.example.org",
        "es",
        "signin",
    )
    assert first.message_id == "<signin.t0@ce.example.org>"
    assert first.context["minutes"] == 15
    assert all(ask(f"t{n}") is not None for n in range(1, MAX_LINKS_PER_WINDOW))
    assert ask("one-too-many") is None
    world.clock.advance(lifetime)
    assert ask("later") is not None
    assert len(rows_of(world, "signin")) == MAX_LINKS_PER_WINDOW + 1
