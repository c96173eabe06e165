"""Applying a plan while people keep working: each cycle migrates in its own transaction under
the cycle's lock, so a fire before it makes the cycle skip (it changed since the preview), a
fire during it waits and then runs on the new version, and two applies never migrate a cycle
twice."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from cycle_engine import CycleEngine
from cycle_engine.changes import Change
from cycle_engine.testing import ManualClock
from tests.cycle_engine.templates.conftest import COORDINATOR, COPY, World
from tests.cycle_engine.templates.helpers import duration


@pytest.fixture
def second_engine(db_url: str, clock: ManualClock) -> Iterator[CycleEngine]:
    """Another engine on the same database, as another process would have."""
    with CycleEngine(db_url, clock=clock) as engine:
        yield engine


def plan(world: World) -> int:
    world.publish(duration("question_workshop", "P5W"))
    made = world.engine.migrations.create_plan(COPY, alliance_id=world.alliance, actor=COORDINATOR)
    world.engine.migrations.preview(made.id, actor=COORDINATOR)
    return made.id


def test_a_fire_between_two_cycles_of_an_apply_skips_that_cycle(
    world: World, second_engine: CycleEngine
) -> None:
    """While the first cycle migrates, the second moves on: it is skipped, not half-migrated."""
    first, second = world.start("First"), world.start("Second")
    plan_id = plan(world)

    def fire_second(done: int, _total: int) -> None:
        if done == 1:
            second_engine.fire(second, "questions_agreed", actor=COORDINATOR)

    report = world.engine.migrations.apply(plan_id, actor=COORDINATOR, progress=fire_second)
    assert [r.cycle_id for r in report.migrated] == [first]
    assert [r.cycle_id for r in report.skipped] == [second]
    assert world.engine.get_cycle(second).state == "role_assignment"
    assert world.engine.templates.record_of(world.engine.get_cycle(second).template_id).version == 1


class FireWhileMigrating:
    """A host listener that, inside the migration's transaction, starts a fire of the same
    cycle from another engine: the fire must wait for the cycle's lock."""

    def __init__(self, other: CycleEngine) -> None:
        self.other = other
        self.threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []

    def on_change(self, change: Change) -> None:
        if change.event.kind != "template_migrated":
            return
        cycle_id = change.cycle.id
        assert cycle_id is not None

        def fire() -> None:
            try:
                self.other.fire(cycle_id, "questions_agreed", actor=COORDINATOR)
            except BaseException as error:  # re-raised by the test
                self.errors.append(error)

        thread = threading.Thread(target=fire)
        thread.start()
        self.threads.append(thread)


def test_a_fire_during_a_cycles_migration_waits_and_runs_on_the_new_version(
    world: World, db_url: str, clock: ManualClock, second_engine: CycleEngine
) -> None:
    """The fire cannot slip in between: it runs after the migration committed, on v2, and the
    history shows the migration, then the transition, with consecutive versions."""
    cycle_id = world.start("Busy")
    plan_id = plan(world)
    listener = FireWhileMigrating(second_engine)
    with CycleEngine(db_url, clock=clock, listeners=[listener]) as applying:
        report = applying.migrations.apply(plan_id, actor=COORDINATOR)
    for thread in listener.threads:
        thread.join(60)
    assert listener.errors == []
    assert [r.cycle_id for r in report.migrated] == [cycle_id]
    history = world.engine.history(cycle_id)
    assert [e.kind for e in history[-2:]] == ["template_migrated", "transition"]
    assert [e.seq for e in history] == list(range(1, len(history) + 1))
    cycle = world.engine.get_cycle(cycle_id)
    assert cycle.state == "role_assignment" and cycle.version == len(history)
    assert world.engine.templates.record_of(cycle.template_id).version == 2


def test_two_applies_at_once_migrate_each_cycle_once(
    world: World, second_engine: CycleEngine
) -> None:
    """Two coordinators confirm the same plan at the same moment: every cycle moves once."""
    cycles = [world.start(f"Cycle {n}") for n in range(6)]
    plan_id = plan(world)
    reports = []

    def apply(engine: CycleEngine) -> None:
        reports.append(engine.migrations.apply(plan_id, actor=COORDINATOR))

    threads = [threading.Thread(target=apply, args=(e,)) for e in (world.engine, second_engine)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    migrated = [r.cycle_id for report in reports for r in report.migrated]
    assert sorted(migrated) == cycles
    for cycle_id in cycles:
        kinds = [e.kind for e in world.engine.history(cycle_id)]
        assert kinds.count("template_migrated") == 1
