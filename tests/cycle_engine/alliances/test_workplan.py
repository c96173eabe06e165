"""The work plan: dates computed from the cycle's start and the template's durations in the
alliance's time zone, stage deadlines taken from it, and moving a due date re-plans later
stages with the change in the history."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from cycle_engine import Actor, CycleEngine, InvalidInput
from cycle_engine.errors import ActionNotAllowed

from .conftest import COORDINATOR, World

GT = timedelta(hours=6)  # America/Guatemala is UTC-6 all year


def _plan(engine: CycleEngine, cycle: int) -> dict[str, tuple[datetime, datetime]]:
    return {r.stage: (r.planned_start, r.planned_due) for r in engine.work.work_plan(cycle)}


def test_plan_chains_stages_to_end_of_working_day_in_alliance_zone(world: World) -> None:
    """Each stage starts when the previous is due; due at 17:00 local after its duration."""
    cycle = world.start()  # 2026-01-05 09:00 UTC = 03:00 in Guatemala
    plan = _plan(world.engine, cycle)
    assert list(plan) == [
        "question_workshop",
        "role_assignment",
        "work_plan",
        "good_practice_review",
        "prototype",
        "multi_context_testing",
        "documentation",
    ]
    assert plan["question_workshop"] == (
        datetime(2026, 1, 5, 9, tzinfo=UTC),
        datetime(2026, 1, 26, 17, tzinfo=UTC) + GT,
    )
    assert plan["role_assignment"] == (
        plan["question_workshop"][1],
        datetime(2026, 2, 9, 17, tzinfo=UTC) + GT,
    )
    assert plan["documentation"][1] == datetime(2026, 10, 5, 17, tzinfo=UTC) + GT


def test_due_dates_skip_the_weekend(world: World) -> None:
    """A stage that would be due on a Saturday is due at the end of the next Monday."""
    world.clock.set(datetime(2026, 1, 10, 15, tzinfo=UTC))  # a Saturday
    cycle = world.start()
    due = _plan(world.engine, cycle)["question_workshop"][1]
    assert due == datetime(2026, 2, 2, 17, tzinfo=UTC) + GT


def test_due_dates_keep_local_hour_across_dst(domain: CycleEngine) -> None:
    """In a zone with DST, the deadline stays at 17:00 local after the clocks change."""
    alliance = domain.alliances.create_alliance("Madrid", "Seeds", timezone="Europe/Madrid")
    domain.clock.set(datetime(2026, 3, 16, 10, tzinfo=UTC))  # type: ignore[attr-defined]
    cycle = domain.start_cycle("learning-cycle", "Seeds", alliance_id=alliance.id)
    due = _plan(domain, cycle.id or 0)["question_workshop"][1]
    assert due == datetime(2026, 4, 6, 15, tzinfo=UTC)  # 17:00 CEST (UTC+2), not 16:00


def test_stage_deadline_comes_from_the_plan(world: World) -> None:
    """Entering a stage sets its deadline to the plan's due date, not now + duration."""
    cycle = world.start()
    world.clock.advance(timedelta(days=3))
    world.fire(cycle, "questions_agreed")
    visit = world.engine.cycles.current_stage(cycle)
    assert visit is not None
    assert visit.due_at == _plan(world.engine, cycle)["role_assignment"][1]


def test_moving_a_due_date_replans_later_stages_and_records_why(world: World) -> None:
    """Moving a due date shifts every later stage and appends a due_date_moved event."""
    cycle = world.start()
    before = _plan(world.engine, cycle)
    rows = world.engine.work.move_due_date(
        cycle,
        "work_plan",
        date(2026, 3, 2),
        reason="Partners meet after the harvest",
        actor=COORDINATOR,
    )
    after = {r.stage: (r.planned_start, r.planned_due) for r in rows}
    assert after["work_plan"][1] == datetime(2026, 3, 2, 17, tzinfo=UTC) + GT
    assert after["good_practice_review"][0] == after["work_plan"][1]
    assert after["good_practice_review"][1] == datetime(2026, 4, 13, 17, tzinfo=UTC) + GT
    assert after["question_workshop"] == before["question_workshop"]
    event = world.engine.history(cycle)[-1]
    assert (event.kind, event.note) == ("due_date_moved", "Partners meet after the harvest")
    assert event.data["stage"] == "work_plan"
    assert set(event.data["replanned"]) == {
        "good_practice_review",
        "prototype",
        "multi_context_testing",
        "documentation",
    }
    plan_row = next(r for r in world.engine.work.work_plan(cycle) if r.stage == "work_plan")
    assert (plan_row.changes, plan_row.original_due) == (1, before["work_plan"][1])


def test_moving_the_current_stage_moves_its_deadline(world: World) -> None:
    """Moving the due date of the stage the cycle is in also moves that visit's deadline."""
    cycle = world.start()
    world.engine.work.move_due_date(
        cycle, "question_workshop", date(2026, 2, 6), reason="Holidays", actor=COORDINATOR
    )
    visit = world.engine.cycles.current_stage(cycle)
    assert visit is not None
    assert visit.due_at == datetime(2026, 2, 6, 17, tzinfo=UTC) + GT


def test_bad_moves_are_refused_and_change_nothing(world: World) -> None:
    """A date before the cycle starts, no reason, a partner, or a finished stage each fail."""
    cycle = world.start()
    version = world.engine.get_cycle(cycle).version
    with pytest.raises(InvalidInput, match="before the cycle starts"):
        world.engine.work.move_due_date(
            cycle, "prototype", date(2025, 12, 1), reason="x", actor=COORDINATOR
        )
    with pytest.raises(InvalidInput, match="before stage 'prototype' is planned to start"):
        world.engine.work.move_due_date(
            cycle, "prototype", date(2026, 3, 2), reason="x", actor=COORDINATOR
        )
    with pytest.raises(InvalidInput, match="reason: must not be empty"):
        world.engine.work.move_due_date(
            cycle, "prototype", date(2026, 9, 1), reason=" ", actor=COORDINATOR
        )
    with pytest.raises(ActionNotAllowed, match="only a coordinator"):
        world.engine.work.move_due_date(
            cycle,
            "prototype",
            date(2026, 9, 1),
            reason="x",
            actor=Actor(name="carla", role="partner"),
        )
    world.fire(cycle, "questions_agreed")
    with pytest.raises(ActionNotAllowed, match="already finished"):
        world.engine.work.move_due_date(
            cycle, "question_workshop", date(2026, 2, 1), reason="x", actor=COORDINATOR
        )
    assert world.engine.get_cycle(cycle).version == version + 1  # only the transition
