"""The overview's counters say what counting the cycles says (issue 16, item 6).

`alliance_figures` reads per-alliance counters that database triggers keep in every writing
transaction; here they are checked against `count_cycles` (which counts the cycles themselves,
with the one meaning of overdue and stalled) after each kind of change: starting cycles,
fires, a pause and a resume, a cancellation, a moved due date, timers that fire overdue and
stall flags, a focal point leaving (turnover flags) and activity clearing them, and the clock
passing deadlines with nothing written at all. The on-time figure's counters (stage visits
closed per day, and on time) are checked against counting the closed visits the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from cycle_engine import Actor, CycleEngine
from cycle_engine.cycles.listing import CycleFilter
from cycle_engine.store.tables import ACTIVE, FINISHED
from cycle_engine.testing import ManualClock, WorldBuilder

COORDINATOR = Actor(name="Ana Pérez", role="coordinator")
START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def engine(db_url: str, clock: ManualClock) -> Iterator[CycleEngine]:
    with CycleEngine(db_url, clock=clock) as e:
        e.publish_builtin_templates()
        yield e


def counted(engine: CycleEngine, alliance_id: int) -> tuple[int, int, int, int]:
    scope = CycleFilter(alliance_id=alliance_id)
    return (
        engine.cycles.count_cycles(replace(scope, status=ACTIVE)),
        engine.cycles.count_cycles(replace(scope, status=FINISHED)),
        engine.cycles.count_cycles(replace(scope, overdue=True)),
        engine.cycles.count_cycles(replace(scope, stalled=True)),
    )


def figures(engine: CycleEngine, alliance_id: int) -> tuple[int, int, int, int]:
    got = engine.cycles.alliance_figures(alliance_id)
    return (got.active, got.finished, got.overdue, got.stalled)


@pytest.mark.slow  # months of timers on a shared machine: several seconds
def test_counters_agree_with_counting_after_every_kind_of_change(
    engine: CycleEngine, clock: ManualClock
) -> None:
    world = WorldBuilder(engine, actor=COORDINATOR)
    alliance = world.alliance("a", "Alianza", "Rural enterprise", timezone="UTC")
    other = world.alliance("b", "Other", "Water", timezone="UTC")
    for n in range(2):
        world.organisation(f"o{n}", f"Partner {n}", "ngo", "Honduras", member_of=["a", "b"])
        roles = {"a": "coordinator", "b": "coordinator"} if n == 0 else {}
        world.person(f"p{n}", f"Focal {n}", f"focal{n}@example.org", f"o{n}", roles=roles)
    cycles = [
        world.cycle(f"c{n}", "learning-cycle", f"C{n}", "a", questions=["Q?"]) for n in range(4)
    ]
    world.cycle("elsewhere", "learning-cycle", "Elsewhere", "b", questions=["Q?"])
    for stage in engine.templates.spec("learning-cycle").work_stages:
        for key in ("c0", "c1", "c2", "c3"):
            world.role(key, stage.key, "o0", "lead", focal_point="p0")
            world.role(key, stage.key, "o1", "active", focal_point="p1")
    checks = 0

    def agree() -> None:
        nonlocal checks
        assert figures(engine, alliance) == counted(engine, alliance)
        assert figures(engine, other) == counted(engine, other)
        checks += 1

    agree()
    assert figures(engine, alliance)[0] == 4
    engine.fire(cycles[0], "questions_agreed", actor=COORDINATOR)
    engine.fire(cycles[1], "questions_agreed", actor=COORDINATOR)
    engine.fire(cycles[1], "roles_assigned", actor=COORDINATOR)
    agree()
    engine.fire(cycles[2], "pause", actor=COORDINATOR, note="funding gap")
    agree()
    engine.fire(cycles[3], "cancel", actor=COORDINATOR, note="merged")
    agree()
    assert figures(engine, alliance)[:2] == (3, 1)
    engine.work.move_due_date(cycles[0], "role_assignment", START + timedelta(days=40), reason="x")
    agree()
    for days in (3, 20, 60):  # deadlines pass; timers fire overdue notices and stalls
        clock.set(START + timedelta(days=days, hours=1))
        agree()  # the clock alone moved: today's and earlier days' deadlines
        engine.timers.run_due_timers()
        agree()
    assert figures(engine, alliance)[2] > 0  # something is overdue by now
    engine.fire(cycles[2], "resume", actor=COORDINATOR)
    agree()
    engine.alliances.person_left(world["p0"], actor=COORDINATOR)  # every lead loses its focal point
    agree()
    engine.timers.run_due_timers()
    agree()
    assert figures(engine, alliance)[3] > 0  # stalled: no activity, turnover
    world.role("c1", "work_plan", "o1", "lead", focal_point="p1")
    engine.fire(cycles[1], "plan_approved", actor=COORDINATOR)  # activity clears its flags
    agree()
    assert checks >= 13


def on_time_counted(engine: CycleEngine, alliance_id: int, day: datetime) -> tuple[int, int]:
    """The visits closed since the start of `day` (UTC), counted one by one."""
    start = datetime.combine(day.astimezone(UTC).date(), datetime.min.time(), UTC)
    got = engine.cycles.on_time(start, alliance_id=alliance_id)
    return (got.closed, got.on_time)


def on_time_kept(engine: CycleEngine, alliance_id: int, day: datetime) -> tuple[int, int]:
    got = engine.cycles.alliance_on_time(alliance_id, day)
    return (got.closed, got.on_time)


def test_on_time_counters_agree_with_counting_the_closed_visits(
    engine: CycleEngine, clock: ManualClock, db_url: str
) -> None:
    """Stage visits closed on time and late, on several days, in two alliances; a correction of
    a closed visit's deadline; then the window's first day moving: the kept figures always say
    what counting the closed visits says."""
    world = WorldBuilder(engine, actor=COORDINATOR)
    alliance = world.alliance("a", "Alianza", "Rural enterprise", timezone="UTC")
    other = world.alliance("b", "Other", "Water", timezone="UTC")
    world.organisation("o", "Partner", "ngo", "Honduras", member_of=["a", "b"])
    world.person("p", "Focal", "focal@example.org", "o", roles={"a": "coordinator"})
    keys = [f"c{n}" for n in range(3)]
    for key in keys:
        world.cycle(key, "learning-cycle", key, "a", questions=["Q?"])
    world.cycle("elsewhere", "learning-cycle", "Elsewhere", "b", questions=["Q?"])
    for stage in engine.templates.spec("learning-cycle").work_stages:
        for key in [*keys, "elsewhere"]:
            world.role(key, stage.key, "o", "lead", focal_point="p")
    first_day = clock.now()

    def agree(day: datetime = first_day) -> None:
        for group in (alliance, other):
            assert on_time_kept(engine, group, day) == on_time_counted(engine, group, day)

    agree()
    assert on_time_kept(engine, alliance, first_day) == (0, 0)
    engine.fire(world["c0"], "questions_agreed", actor=COORDINATOR)  # on time
    engine.fire(world["elsewhere"], "questions_agreed", actor=COORDINATOR)
    agree()
    clock.advance(timedelta(days=60))  # past every first deadline: closed late
    engine.fire(world["c1"], "questions_agreed", actor=COORDINATOR)
    engine.fire(world["c0"], "roles_assigned", actor=COORDINATOR)
    agree()
    clock.advance(timedelta(days=1, hours=3))
    engine.fire(world["c2"], "questions_agreed", actor=COORDINATOR)
    agree()
    closed, on_time = on_time_kept(engine, alliance, first_day)
    assert (closed, on_time) == (4, 1)
    with CycleEngine(db_url) as writer, writer.db.transaction() as session:  # a correction
        session.execute(
            text(
                "UPDATE stage_visits SET due_at = left_at WHERE left_at IS NOT NULL "
                "AND cycle_id = :cycle AND stage = 'question_workshop'"
            ),
            {"cycle": world["c1"]},
        )
    agree()
    assert on_time_kept(engine, alliance, first_day) == (4, 2)  # at its deadline: on time
    agree(clock.now())  # a window of today only
    assert on_time_kept(engine, alliance, clock.now()) == (1, 0)
