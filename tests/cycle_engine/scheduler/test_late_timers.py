"""Downtime and clock jumps: late timers follow their rule's late policy, are reported, and
never come in a burst; a failing handler is retried, never lost."""

from __future__ import annotations

from datetime import timedelta

from cycle_engine import CycleEngine
from cycle_engine.scheduler.rules import PlannedTimer
from cycle_engine.scheduler.store import new_timer
from cycle_engine.scheduler.worker import Worker, WorkerSettings
from cycle_engine.store.tables.timers import CLAIMED, DIGEST, DROPPED, PENDING
from cycle_engine.testing import ManualClock

from .conftest import days, drain, scheduler_events


def test_a_week_of_downtime_sends_the_latest_once_and_reports_the_rest(
    pilot: CycleEngine, clock: ManualClock
) -> None:
    """After the engine was down across the deadline, stale reminders are dropped, the latest
    one and the deadline are sent once marked late, and every late timer is reported."""
    t0 = clock.now()
    cycle = pilot.start_cycle("rapid-cycle", "Market access", standalone=True)
    assert cycle.id is not None
    pilot.run_due_timers()  # kickoff on time
    clock.set(t0 + days(10))  # down from day 0 to day 10 (deadline at day 7)
    result = pilot.run_due_timers()
    assert (result.fired, result.dropped, result.late) == (4, 1, 5)
    sent = [(f.kind, f.rule) for f in scheduler_events(pilot, cycle.id) if f.kind != "timer_late"]
    assert sent == [
        ("reminder_due", "kickoff"),
        ("reminder_due", "due_today"),
        ("stage_overdue", "due"),
        ("stalled", "stall"),
        ("overdue_reminder", "overdue"),
    ]
    late = {
        (f.rule, f.data["action"])
        for f in scheduler_events(pilot, cycle.id)
        if f.kind == "timer_late"
    }
    assert late == {
        ("three_days_before", "dropped"),
        ("due_today", "sent_late"),
        ("due", "sent_late"),
        ("stall", "sent_late"),
        ("overdue", "sent_late"),
    }
    assert {t.rule for t in pilot.timers.late_timers()} == {r for r, _ in late}
    assert pilot.run_due_timers().claimed == 0


def test_clock_jumping_far_forward_escalates_once_without_a_burst(
    pilot: CycleEngine, clock: ManualClock
) -> None:
    """A jump of two months fires the newest overdue step (the escalation) once, listing the
    overdue reminders it skipped, instead of replaying the whole series."""
    t0 = clock.now()
    cycle = pilot.start_cycle("rapid-cycle", "Credit groups", standalone=True)
    assert cycle.id is not None
    pilot.run_due_timers()
    clock.set(t0 + days(60))
    pilot.run_due_timers()
    drain(pilot, clock, t0 + days(120))
    overdue = [
        f for f in scheduler_events(pilot, cycle.id) if f.kind in ("overdue_reminder", "escalated")
    ]
    assert [(f.kind, f.data["series"], f.data["skipped"]) for f in overdue] == [
        ("escalated", 3, [1, 2])
    ]
    assert len(scheduler_events(pilot, cycle.id)) <= 10


def test_clock_jumping_back_fires_nothing_early_and_nothing_hangs(
    pilot: CycleEngine, clock: ManualClock
) -> None:
    """A claim made under a clock a day ahead is neither fired early nor stuck: once due by
    our clock, another worker takes it over and fires it once."""
    t0 = clock.now()
    cycle = pilot.start_cycle("sched-pilot", "Post-harvest losses", standalone=True)
    assert cycle.id is not None
    pilot.run_due_timers()
    ahead = Worker(pilot.timers, name="clock-ahead")
    week_before = t0 + days(14)
    assert len(ahead.claim(week_before)) == 2  # stall check + week_before, then it died
    clock.set(t0 + days(9))
    assert pilot.timers.run_due_timers(worker_name="honest").claimed == 0
    clock.set(t0 + days(13))
    assert pilot.timers.run_due_timers(worker_name="honest").fired == 1  # the stall check only
    clock.set(week_before)  # its lease (5 minutes from our "now") is plausible again
    assert pilot.timers.run_due_timers(worker_name="honest").claimed == 0
    clock.set(week_before + timedelta(minutes=5))
    assert pilot.timers.run_due_timers(worker_name="honest").fired == 1
    rules = [f.rule for f in scheduler_events(pilot, cycle.id) if f.kind != "timer_late"]
    assert rules == ["kickoff", "stall", "week_before"]


def test_failing_handler_is_retried_with_back_off_then_dropped(
    pilot: CycleEngine, clock: ManualClock
) -> None:
    """A timer whose handler fails keeps its place, is retried after a growing back-off and,
    after the last attempt, is dropped with the error kept."""
    reader = digest_reader(pilot)
    now = clock.now()
    with pilot.db.transaction() as session:
        digest = PlannedTimer(kind=DIGEST, rule="weekly_digest", due_at=now, nominal_at=now)
        session.add(new_timer(None, None, digest, 1, now, person_id=reader))
    settings = WorkerSettings(lease=timedelta(minutes=8), max_attempts=3)
    waits = []
    for _ in range(3):
        result = pilot.timers.run_due_timers(settings=settings)
        assert result.failed == 1
        [row] = pilot.timers.list_timers()
        if row.status == CLAIMED:
            assert row.lease_until is not None
            waits.append(row.lease_until - clock.now())
            assert pilot.timers.run_due_timers(settings=settings).claimed == 0
            clock.set(row.lease_until)
    assert waits == [timedelta(minutes=1), timedelta(minutes=2)]
    [row] = pilot.timers.list_timers()
    assert (row.status, row.attempts) == (DROPPED, 3)
    assert row.last_error == "TimerHandlerNotFound: timer handler 'digest' not found"


def test_registered_handler_fires_its_kind(pilot: CycleEngine, clock: ManualClock) -> None:
    """A handler registered for a kind (as notifications does for digests) fires its rows."""
    reader = digest_reader(pilot)
    now = clock.now()
    with pilot.db.transaction() as session:
        digest = PlannedTimer(kind=DIGEST, rule="weekly_digest", due_at=now, nominal_at=now)
        session.add(new_timer(None, None, digest, 1, now, person_id=reader))
    seen: list[int | None] = []

    def send_digest(firing: object) -> object:
        from cycle_engine.scheduler.firing import TimerFiring, Verdict

        assert isinstance(firing, TimerFiring)
        seen.append(firing.timer.person_id)
        return Verdict("fired")

    pilot.timers.handlers.register(DIGEST, send_digest)  # type: ignore[arg-type]
    assert pilot.run_due_timers().fired == 1
    assert seen == [reader]
    assert [t.status for t in pilot.timers.list_timers(status=PENDING)] == []


def digest_reader(engine: CycleEngine) -> int:
    """A person for a digest timer to belong to (timers point at real people)."""
    organisation = engine.alliances.add_organisation("Cooperativa", "local", "Honduras")
    assert organisation.id is not None
    person = engine.alliances.add_person("Rosa Mejía", "rosa@example.org", organisation.id)
    assert person.id is not None
    return person.id
