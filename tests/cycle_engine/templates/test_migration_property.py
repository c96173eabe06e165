"""Property: for random templates, random changes to them and cycles left in random positions
(advanced, looped back, paused, overdue, stalled, with timers fired), the preview's predicted
stage, deadline, work plan and waiting timers are exactly what apply produces, the preview
writes nothing, and cycles the preview holds back are not touched."""

from __future__ import annotations

import itertools
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cycle_engine import Actor, CycleEngine, CycleEngineError
from cycle_engine.testing import ManualClock
from tests.cycle_engine.templates.helpers import observed, predicted, rows

ADMIN = Actor(name="Ada Admin", role="admin")
ZONES = ("UTC", "America/Guatemala", "Africa/Nairobi", "Asia/Kolkata", "Pacific/Auckland")
STEPS = ("next", "next", "redo", "pause", "resume", "tick", "wait")
_examples = itertools.count(1)


@dataclass(frozen=True)
class Rules:
    before_due: int
    overdue_every: int
    escalate_after: int
    stall: int | None


rules = st.builds(
    Rules,
    before_due=st.integers(0, 10),
    overdue_every=st.integers(1, 5),
    escalate_after=st.integers(1, 3),
    stall=st.one_of(st.none(), st.integers(2, 20)),
)


@dataclass(frozen=True)
class Scenario:
    days: tuple[int, ...]
    rules: Rules
    new_days: tuple[int, ...]
    new_rules: Rules
    change: str
    position: int
    mapped: bool
    cycles: tuple[tuple[tuple[str, int], ...], ...]
    in_alliance: bool
    zone: str
    unentered: str
    wait: int


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    count = draw(st.integers(2, 5))
    days = tuple(draw(st.lists(st.integers(1, 30), min_size=count, max_size=count)))
    first = draw(rules)
    steps = st.tuples(st.sampled_from(STEPS), st.integers(1, 240))
    return Scenario(
        days=days,
        rules=first,
        new_days=tuple(draw(st.one_of(st.just(d), st.integers(1, 30))) for d in days),
        new_rules=draw(st.one_of(st.just(first), rules)),
        change=draw(st.sampled_from(["none", "add", "remove", "rename"])),
        position=draw(st.integers(0, count - 1)),
        mapped=draw(st.booleans()),
        cycles=tuple(
            tuple(c) for c in draw(st.lists(st.lists(steps, max_size=8), min_size=1, max_size=3))
        ),
        in_alliance=draw(st.booleans()),
        zone=draw(st.sampled_from(ZONES)),
        unentered=draw(st.sampled_from(["replan", "keep"])),
        wait=draw(st.integers(0, 40)),
    )


def template(key: str, stages: list[tuple[str, int]], rules: Rules) -> str:
    """A linear template over `stages` (a loop back from the last), with pause and resume."""
    keys = [k for k, _ in stages]
    transitions: list[dict[str, Any]] = [
        {"trigger": f"leave_{k}", "from": k, "to": keys[i + 1] if i + 1 < len(keys) else "done"}
        for i, k in enumerate(keys)
    ]
    if len(keys) > 1:
        transitions.append({"trigger": "redo", "from": keys[-1], "to": keys[-2]})
    transitions += [
        {"trigger": "pause", "from": "*", "to": "paused"},
        {"trigger": "resume", "from": "paused", "to": "@previous"},
    ]
    defaults: dict[str, Any] = {
        "reminders": [
            {"name": "kickoff", "after_entry": "P0D"},
            {"name": "before", "before_due": f"P{rules.before_due}D"},
        ],
        "overdue": {"every": f"P{rules.overdue_every}D", "escalate_after": rules.escalate_after},
    }
    if rules.stall is not None:
        defaults["stall"] = {"after": f"P{rules.stall}D"}
    document = {
        "key": key,
        "title": "Property cycle",
        "initial": keys[0],
        "defaults": defaults,
        "stages": [
            *({"key": k, "title": k.upper(), "duration": f"P{d}D"} for k, d in stages),
            {"key": "paused", "title": "Paused", "hold": True},
            {"key": "done", "title": "Done", "final": True},
        ],
        "transitions": transitions,
    }
    return yaml.safe_dump(document, sort_keys=False)


def versions(s: Scenario) -> tuple[list[tuple[str, int]], list[tuple[str, int]], dict[str, str]]:
    """The stages of v1 and v2 and the plan's stage mapping."""
    old = [(f"s{i}", d) for i, d in enumerate(s.days)]
    new = [(f"s{i}", d) for i, d in enumerate(s.new_days)]
    mapping: dict[str, str] = {}
    key = f"s{s.position}"
    if s.change == "add":
        new.insert(s.position, ("added", 7))
    elif s.change == "remove":
        del new[s.position]
        if s.mapped and new:
            mapping[key] = new[min(s.position, len(new) - 1)][0]
    elif s.change == "rename":
        new[s.position] = ("renamed", new[s.position][1])
        mapping[key] = "renamed"
    return old, new, mapping


def run_steps(engine: CycleEngine, clock: ManualClock, cycle_id: int, steps: Any) -> None:
    for step, hours in steps:
        clock.advance(timedelta(hours=hours))
        if step == "tick":
            engine.run_due_timers()
        elif step == "wait":
            clock.advance(timedelta(days=hours // 10))
        else:
            state = engine.get_cycle(cycle_id).state
            trigger = f"leave_{state}" if step == "next" else step
            with suppress(CycleEngineError):  # not possible from here: the cycle stays
                engine.fire(cycle_id, trigger, actor=ADMIN)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(s=scenarios())
def test_preview_predicts_what_apply_does(
    engine: CycleEngine, clock: ManualClock, s: Scenario
) -> None:
    """Predicted stage, deadline, plan and timers equal the database after apply."""
    n = next(_examples)
    key = f"prop-{n}"
    old, new, mapping = versions(s)
    alliance_id = None
    if s.in_alliance:
        alliance = engine.alliances.create_alliance(f"Property {n}", "Learning", timezone=s.zone)
        alliance_id = alliance.id
    engine.templates.publish(template(key, old, s.rules), alliance_id=alliance_id, actor=ADMIN)
    cycle_ids = []
    for steps in s.cycles:
        cycle = engine.start_cycle(
            key, f"Cycle {n}", alliance_id=alliance_id, standalone=alliance_id is None, actor=ADMIN
        )
        assert cycle.id is not None
        cycle_ids.append(cycle.id)
        run_steps(engine, clock, cycle.id, steps)
    clock.advance(timedelta(days=s.wait))
    engine.templates.publish(template(key, new, s.new_rules), alliance_id=alliance_id, actor=ADMIN)
    plan = engine.migrations.create_plan(
        key, alliance_id=alliance_id, stage_map=mapping, unentered=s.unentered, actor=ADMIN
    )
    before = rows(engine)
    preview = engine.migrations.preview(plan.id, actor=ADMIN)
    assert rows(engine) == before
    held_back = {
        f.cycle_id: observed(engine, f.cycle_id) for f in preview.cycles if f.outcome != "migrate"
    }
    engine.migrations.apply(plan.id, actor=ADMIN)
    for forecast in preview.cycles:
        event(f"outcome: {forecast.outcome}{' (paused)' if forecast.paused else ''}")
        event(f"timers changed: {bool(forecast.timers)}")
        event(f"deadlines changed: {bool(forecast.deadlines)}")
    for forecast in preview.migrating:
        assert observed(engine, forecast.cycle_id) == predicted(forecast), forecast.cycle_id
    for cycle_id, seen in held_back.items():
        assert observed(engine, cycle_id) == seen
    clock.advance(timedelta(days=3))
    engine.run_due_timers()  # the migrated timers fire like any others
    for cycle_id in cycle_ids:
        run_steps(engine, clock, cycle_id, [("next", 1)])
