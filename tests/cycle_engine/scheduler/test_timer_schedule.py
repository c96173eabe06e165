"""A cycle's timers follow its template: created on entry, fired once at the right moment,
cancelled on leaving, moved with the deadline; stalled and overdue stages carry reasons."""

from __future__ import annotations

from datetime import timedelta

from cycle_engine import CycleEngine
from cycle_engine.scheduler.firing import fire_timer
from cycle_engine.scheduler.worker import Worker
from cycle_engine.store.tables.timers import CANCELLED, FIRED, PENDING
from cycle_engine.testing import ManualClock

from .conftest import days, drain, scheduler_events


def test_full_schedule_of_a_stage_fires_as_the_template_says(
    pilot: CycleEngine, clock: ManualClock
) -> None:
    """The rapid cycle's kickoff stage fires each reminder, the deadline, the overdue series,
    the escalation and the stall check exactly once, at the template's moments."""
    t0 = clock.now()
    cycle = pilot.start_cycle("rapid-cycle", "Seed fairs", standalone=True)
    assert cycle.id is not None
    drain(pilot, clock, t0 + days(30))
    fired = [(f.kind, f.rule, f.at - t0) for f in scheduler_events(pilot, cycle.id)]
    assert fired == [
        ("reminder_due", "kickoff", days(0)),
        ("reminder_due", "three_days_before", days(4)),
        ("reminder_due", "due_today", days(7)),
        ("stage_overdue", "due", days(7)),
        ("stalled", "stall", days(7)),
        ("overdue_reminder", "overdue", days(9)),
        ("overdue_reminder", "overdue", days(11)),
        ("escalated", "overdue", days(13)),
    ]
    assert pilot.run_due_timers().claimed == 0
    [stalled] = pilot.stalled()
    assert {r.reason for r in stalled.reasons} == {"no_activity", "overdue_escalated"}
    [overdue] = pilot.overdue()
    assert (overdue.stage, overdue.overdue_reminders, overdue.escalated) == ("kickoff", 2, True)
    assert overdue.overdue_seconds == int(timedelta(days=23).total_seconds())


def test_activity_clears_stall_flags_and_moves_the_stall_check(
    pilot: CycleEngine, clock: ManualClock
) -> None:
    """Any activity on a stalled stage clears its flags and re-plans its stall check."""
    cycle = pilot.start_cycle("sched-pilot", "Soil health", standalone=True)
    assert cycle.id is not None
    drain(pilot, clock, clock.now() + days(11))
    assert [r.reason for r in pilot.stalled()[0].reasons] == ["no_activity"]
    pilot.work.add_questions(cycle.id, ["Which cover crops hold soil best?"])
    assert pilot.stalled() == []
    stall_rows = [t for t in pilot.timers.list_timers(cycle.id) if t.kind == "stall"]
    assert [(t.occurrence, t.status) for t in stall_rows] == [(1, FIRED), (2, PENDING)]
    assert stall_rows[1].due_at == clock.now() + days(10)


def test_leaving_a_stage_cancels_its_timers_and_plans_the_next(
    pilot: CycleEngine, clock: ManualClock
) -> None:
    """Firing a transition cancels the left stage's unfired timers and creates the next
    stage's, each with a unique dedupe key."""
    cycle = pilot.start_cycle("sched-pilot", "Water harvesting", standalone=True)
    assert cycle.id is not None
    pilot.run_due_timers()
    clock.advance(days(2))
    pilot.fire(cycle.id, "submit")
    rows = pilot.timers.list_timers(cycle.id)
    draft = {t.rule: t.status for t in rows if t.stage == "draft"}
    assert draft == {
        "kickoff": FIRED,
        "week_before": CANCELLED,
        "day_before": CANCELLED,
        "due_today": CANCELLED,
        "due": CANCELLED,
        "overdue": CANCELLED,
        "stall": CANCELLED,
    }
    review = sorted(t.rule for t in rows if t.stage == "review" and t.status == PENDING)
    assert review == [
        "day_before",
        "due",
        "due_today",
        "kickoff",
        "overdue",
        "stall",
        "week_before",
    ]
    assert len({t.dedupe_key for t in rows}) == len(rows)
    drain(pilot, clock, clock.now() + days(40))
    kinds = [f.kind for f in scheduler_events(pilot, cycle.id) if f.data["stage"] == "draft"]
    assert kinds == ["reminder_due"]


def test_moving_a_due_date_moves_its_timers(pilot: CycleEngine, clock: ManualClock) -> None:
    """Moving the stage's deadline later moves its unfired reminders and deadline, and a
    reminder that already fired comes again before the new deadline."""
    alliance = pilot.alliances.create_alliance(
        "Andes", "Seed systems", working_hours_start=0, working_hours_end=24, weekend_days=""
    )
    cycle = pilot.start_cycle("sched-pilot", "Tubers", alliance_id=alliance.id)
    assert cycle.id is not None
    visit = pilot.cycles.current_stage(cycle.id)
    assert visit is not None and visit.due_at is not None
    drain(pilot, clock, visit.due_at - days(3))  # kickoff and week_before fired
    new_due = visit.due_at + days(14)
    pilot.work.move_due_date(cycle.id, "draft", new_due, reason="workshop postponed")
    moved = pilot.cycles.current_stage(cycle.id)
    assert moved is not None and moved.due_at is not None
    drain(pilot, clock, moved.due_at + days(1))
    fired = [
        (f.rule, f.at)
        for f in scheduler_events(pilot, cycle.id)
        if f.kind in ("reminder_due", "stage_overdue")
    ]
    assert fired == [
        ("kickoff", visit.entered_at),
        ("week_before", visit.due_at - days(7)),
        ("week_before", moved.due_at - days(7)),
        ("day_before", moved.due_at - days(1)),
        ("due_today", moved.due_at),
        ("due", moved.due_at),
    ]


def test_firing_a_timer_twice_has_no_second_effect(pilot: CycleEngine) -> None:
    """A timer fired once is skipped when fired again, and a second run finds nothing."""
    cycle = pilot.start_cycle("sched-pilot", "Agroforestry", standalone=True)
    assert cycle.id is not None
    worker = Worker(pilot.timers, name="w1")
    [timer_id] = worker.claim(pilot.clock.now())
    first = fire_timer(
        pilot.db, pilot.timers, pilot.timers.handlers, timer_id, "w1", pilot.clock.now()
    )
    again = fire_timer(
        pilot.db, pilot.timers, pilot.timers.handlers, timer_id, "w1", pilot.clock.now()
    )
    assert (first.status, again.status) == (FIRED, "skipped")
    assert worker.run_once().claimed == 0
    assert [f.rule for f in scheduler_events(pilot, cycle.id)] == ["kickoff"]
