"""A small world for the template tests: two alliances in different time zones, a partner
organisation with a focal point in each, the built-in templates, and the learning cycle copied
into the first alliance as `alianza-cycle` (v1), ready to be changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from cycle_engine import Actor, CycleEngine
from cycle_engine.store.templates import PublishedTemplate
from cycle_engine.testing import ManualClock, WorldBuilder
from tests.cycle_engine.templates.helpers import Edit, edited

COORDINATOR = Actor(name="Cora Coordina", role="coordinator")
ADMIN = Actor(name="Ada Admin", role="admin")
LEARNING_CYCLE = (Path(__file__).parents[3] / "workflows" / "learning_cycle.yaml").read_text()
COPY = "alianza-cycle"
STAGES = (
    "question_workshop",
    "role_assignment",
    "work_plan",
    "good_practice_review",
    "prototype",
    "multi_context_testing",
    "documentation",
)
TO_LOOP = (
    "questions_agreed",
    "roles_assigned",
    "plan_approved",
    "review_completed",
    "prototypes_ready",
    "results_weak",
)


@dataclass
class World:
    engine: CycleEngine
    clock: ManualClock
    build: WorldBuilder

    @property
    def alliance(self) -> int:
        return self.build["alliance"]

    @property
    def other(self) -> int:
        return self.build["other"]

    def start(self, title: str, template: str = COPY, alliance: str = "alliance") -> int:
        """A cycle of `alliance` (with a learning question and a lead for every stage)."""
        cycle = self.engine.start_cycle(
            template,
            title,
            alliance_id=self.build[alliance],
            actor=COORDINATOR,
            questions=["Which channels pay smallholders best?"],
        )
        assert cycle.id is not None
        return cycle.id

    def walk(self, cycle_id: int, *triggers: str) -> None:
        """Fire `triggers` one after the other, a day apart, meeting every requirement of the
        learning cycle on the way (leads with a focal point, products, a note)."""
        work = self.engine.work
        needs = {
            "roles_assigned": lambda: [
                work.assign(
                    cycle_id,
                    stage,
                    self.build["research"],
                    "lead",
                    focal_point_id=self.build["ana"],
                    actor=COORDINATOR,
                )
                for stage in STAGES[1:]
            ],
            "review_completed": lambda: work.add_product(
                cycle_id,
                "good_practice_review",
                "What works",
                self.build["research"],
                link="https://docs.example.org/review",
                actor=COORDINATOR,
            ),
            "prototypes_ready": lambda: work.add_product(
                cycle_id,
                "prototype",
                "Buyer-readiness tool",
                self.build["research"],
                form="tool",
                link="https://docs.example.org/tool",
                actor=COORDINATOR,
            ),
        }
        for trigger in triggers:
            self.clock.advance(timedelta(days=1))
            if trigger in needs:
                needs[trigger]()
            note = "the tests were weak" if trigger in ("results_weak", "pause") else None
            self.engine.fire(cycle_id, trigger, actor=COORDINATOR, note=note)

    def publish(self, *edits: Edit, key: str = COPY) -> PublishedTemplate:
        """A new version of the alliance's copy: the learning cycle with `edits`."""
        text = edited(LEARNING_CYCLE, *edits, key=key)
        return self.engine.templates.publish(
            text, f"{key}.yaml", alliance_id=self.alliance, actor=COORDINATOR
        )


@pytest.fixture
def world(builtin_engine: CycleEngine, clock: ManualClock) -> World:
    build = WorldBuilder(builtin_engine, actor=COORDINATOR)
    build.alliance("alliance", "Alianza Test", "Markets", timezone="America/Guatemala")
    build.alliance("other", "Other Alliance", "Water", timezone="Africa/Nairobi")
    build.organisation(
        "research", "Research Centre", "research", "Colombia", member_of=["alliance"]
    )
    build.organisation("wells", "Wells Network", "ngo", "Kenya", member_of=["other"])
    build.person(
        "ana",
        "Ana Pérez",
        "ana@research.example.org",
        "research",
        roles={"alliance": "coordinator"},
    )
    build.person(
        "otto", "Otto Otieno", "otto@wells.example.org", "wells", roles={"other": "coordinator"}
    )
    builtin_engine.templates.copy(
        "learning-cycle", COPY, alliance_id=build["alliance"], actor=COORDINATOR
    )
    return World(engine=builtin_engine, clock=clock, build=build)
