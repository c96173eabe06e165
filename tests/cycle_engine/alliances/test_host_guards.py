"""Regression for "host guards break alliance cycles": a guard the host registers works on an
alliance cycle in every path that needs the cycle's template (start, explain, fire, the worker's
timers and stall checks, the report), because every path asks the engine's one spec cache."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from cycle_engine import CycleEngine, GuardContext, GuardDefinition, TransitionNotAllowed
from cycle_engine.spec import builtin_template_paths
from cycle_engine.spec.specs import GuardArg
from cycle_engine.testing import ManualClock

from .conftest import COORDINATOR, World

APPROVED: set[int] = set()
NOT_APPROVED = "the host's budget office has not approved this cycle"


def _budget_approved(ctx: GuardContext, arg: GuardArg) -> list[str]:
    return [] if not arg or ctx.cycle.id in APPROVED else [NOT_APPROVED]


HOST_GUARD = GuardDefinition(
    name="budget_approved",
    arg_type=bool,
    description="the host's budget office approved the cycle",
    check=_budget_approved,
)


def host_template() -> str:
    """The built-in learning cycle under another key, whose first step needs the host guard."""
    path = next(p for p in builtin_template_paths() if p.name == "learning_cycle.yaml")
    text = path.read_text(encoding="utf-8").replace("key: learning-cycle", "key: host-cycle", 1)
    first = "      - learning_questions: 1\n"
    assert first in text
    return text.replace(first, first + "      - budget_approved: true\n", 1)


@pytest.fixture
def domain(db_url: str, clock: ManualClock, tmp_path: Path) -> Iterator[CycleEngine]:
    """The alliance world's engine, built by a host that registers its own guard."""
    APPROVED.clear()
    with CycleEngine(db_url, clock=clock, data_dir=tmp_path / "data", guards=[HOST_GUARD]) as e:
        e.publish_builtin_templates()
        e.templates.publish(host_template(), "host_cycle.yaml")
        yield e


def test_host_guard_on_alliance_cycle_works_in_every_path(world: World) -> None:
    """Start, explain, fire, a worker tick, stall checks and the report all accept the host
    guard; it blocks with its own reason until the host's condition holds."""
    engine = world.engine
    cycle = world.start("host-cycle")
    world.assign_leads(cycle)
    [option] = [
        o
        for o in engine.available_triggers(cycle, actor=COORDINATOR)
        if o.trigger == "questions_agreed"
    ]
    assert not option.allowed and NOT_APPROVED in option.reasons
    with pytest.raises(TransitionNotAllowed, match="budget office"):
        world.fire(cycle, "questions_agreed")

    APPROVED.add(cycle)
    world.fire(cycle, "questions_agreed")
    assert engine.get_cycle(cycle).state == "role_assignment"

    world.clock.advance(timedelta(days=40))
    tick = engine.run_due_timers()
    assert tick.fired > 0 and tick.failed == 0
    assert [s.cycle_id for s in engine.overdue(world.alliance)] == [cycle]
    assert cycle in {s.cycle_id for s in engine.stalled(world.alliance)}
    report = engine.work.render_report(cycle)
    assert "Market access" in report and "Role assignment" in report
