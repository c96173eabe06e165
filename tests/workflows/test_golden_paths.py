"""Golden paths: each built-in template, driven from its golden file (what partners record, the
trigger, where the cycle must land), walks to its final state through the public API."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from cycle_engine import CycleEngine
from cycle_engine.spec import builtin_template_paths
from tests.cycle_engine.alliances.conftest import COORDINATOR, World
from tests.cycle_engine.alliances.conftest import domain as domain  # pytest fixture
from tests.cycle_engine.alliances.conftest import world as world  # pytest fixture

GOLDEN = Path(__file__).with_name("golden")
FORMS = {"prototype": "tool", "adapted_version": "tool"}


def _golden_files() -> list[Path]:
    return sorted(GOLDEN.glob("*.yaml"))


def test_every_builtin_template_has_a_golden_path() -> None:
    """No built-in template ships without a golden path proving it can finish."""
    keys = {yaml.safe_load(p.read_text("utf-8"))["key"] for p in builtin_template_paths()}
    assert keys == {p.stem for p in _golden_files()}


class Walker:
    """Carries out one golden file's steps on a cycle."""

    def __init__(self, world: World, cycle_id: int) -> None:
        self.world = world
        self.engine: CycleEngine = world.engine
        self.cycle_id = cycle_id
        self.contexts: dict[str, int] = {}

    def step(self, step: dict[str, Any]) -> None:
        self.world.clock.advance(timedelta(days=3))
        if "fire" in step:
            result = self.engine.fire(
                self.cycle_id, step["fire"], actor=COORDINATOR, note=step.get("note")
            )
            assert result.to_state == step["expect"], step
        elif "lead_all_remaining" in step:
            spec = self.engine.templates.spec(self.engine.get_cycle(self.cycle_id).template_key)
            stages = [s.key for s in spec.work_stages]
            current = self.engine.get_cycle(self.cycle_id).state
            self.world.assign_leads(self.cycle_id, stages[stages.index(current) + 1 :])
        elif "assign" in step:
            role = step["assign"]
            self.engine.work.assign(
                self.cycle_id,
                role["stage"],
                getattr(self.world, role["organisation"]),
                role["level"],
                actor=COORDINATOR,
            )
        elif "product" in step:
            kind = step["product"]
            self.engine.work.add_product(
                self.cycle_id,
                kind,
                f"The {kind.replace('_', ' ')}",
                self.world.research,
                link=f"https://docs.example.org/{kind}",
                form=FORMS.get(kind),
                actor=COORDINATOR,
            )
        elif "contexts" in step:
            for name in step["contexts"]:
                context = self.engine.work.add_context(
                    self.cycle_id, name, "Honduras", name, self.world.ngo, actor=COORDINATOR
                )
                self.contexts[name] = context.id or 0
        elif "report" in step:
            self._report(self.contexts[step["report"]], step["rating"])
        elif "report_all" in step:
            for context_id in self.contexts.values():
                self._report(context_id, step["report_all"])
        elif "answer_all" in step:
            questions = self.engine.work.learning_questions(self.cycle_id)
            self.engine.work.answer_questions(
                self.cycle_id,
                {q.id or 0: "Answered from the tested contexts." for q in questions},
                actor=COORDINATOR,
            )
        else:
            raise AssertionError(f"unknown golden step {step!r}")

    def _report(self, context_id: int, rating: str) -> None:
        self.engine.work.report_context(
            self.cycle_id, context_id, f"Results were {rating}.", rating, actor=COORDINATOR
        )


@pytest.mark.parametrize("golden", _golden_files(), ids=lambda p: p.stem)
def test_builtin_template_walks_its_golden_path(world: World, golden: Path) -> None:
    """Following the golden file reaches the template's final state, stage by stage."""
    document = yaml.safe_load(golden.read_text("utf-8"))
    cycle_id = world.start(document["template"])
    walker = Walker(world, cycle_id)
    for step in document["steps"]:
        walker.step(step)
    cycle = world.engine.get_cycle(cycle_id)
    assert (cycle.state, cycle.status) == ("completed", "finished")
    moves = [e.to_state for e in world.engine.history(cycle_id) if e.kind == "transition"]
    assert moves == [s["expect"] for s in document["steps"] if "fire" in s]
