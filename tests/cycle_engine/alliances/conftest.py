"""Fixtures for the alliance-domain tests: an engine with its own data directory and a small
alliance (three partners, one outsider in another alliance, people in each)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from cycle_engine import Actor, CycleEngine
from cycle_engine.testing import ManualClock, WorldBuilder

COORDINATOR = Actor(name="ana", role="coordinator")
LATER_STAGES = [
    "work_plan",
    "good_practice_review",
    "prototype",
    "multi_context_testing",
    "documentation",
]


@dataclass
class World:
    """Ids of the small alliance every test starts from."""

    engine: CycleEngine
    clock: ManualClock
    alliance: int
    other_alliance: int
    research: int
    ngo: int
    farmers: int
    outsider: int
    ana: int  # research, coordinator
    bruno: int  # research
    carla: int  # ngo
    dora: int  # farmers
    omar: int  # outsider (other alliance only)

    def start(self, template: str = "learning-cycle", **kwargs: object) -> int:
        kwargs.setdefault("questions", ["Which market channels pay smallholders best?"])
        cycle = self.engine.start_cycle(
            template,
            "Market access",
            alliance_id=self.alliance,
            actor=COORDINATOR,
            **kwargs,  # type: ignore[arg-type]
        )
        assert cycle.id is not None
        return cycle.id

    def assign_leads(self, cycle_id: int, stages: list[str] | None = None) -> None:
        for stage in stages or LATER_STAGES:
            self.engine.work.assign(
                cycle_id, stage, self.research, "lead", focal_point_id=self.ana, actor=COORDINATOR
            )

    def fire(self, cycle_id: int, *triggers: str, note: str | None = None) -> None:
        for trigger in triggers:
            self.engine.fire(cycle_id, trigger, actor=COORDINATOR, note=note)


@pytest.fixture
def domain(db_url: str, clock: ManualClock, tmp_path: Path) -> Iterator[CycleEngine]:
    with CycleEngine(db_url, clock=clock, data_dir=tmp_path / "data") as engine:
        engine.publish_builtin_templates()
        yield engine


@pytest.fixture
def world(domain: CycleEngine, clock: ManualClock) -> World:
    build = WorldBuilder(domain, actor=COORDINATOR, joined_on=date(2025, 1, 6))
    build.alliance(
        "alliance", "Alianza Test", "Market access", timezone="America/Guatemala", language="es"
    )
    build.alliance("other_alliance", "Other Alliance", "Seed systems", timezone="Africa/Nairobi")
    guatemala = "America/Guatemala"
    for key, name, kind, country, zone, alliance in (
        ("research", "Centro de Investigación", "research", "Guatemala", guatemala, "alliance"),
        ("ngo", "Fundación Tierra", "ngo", "Honduras", "America/Tegucigalpa", "alliance"),
        ("farmers", "Cooperativa Maíz", "local", "Guatemala", guatemala, "alliance"),
        ("outsider", "Kenya Seeds", "private", "Kenya", "Africa/Nairobi", "other_alliance"),
    ):
        build.organisation(key, name, kind, country, timezone=zone, member_of=[alliance])
    build.join("research", "other_alliance")
    coordinator = {"alliance": "coordinator"}
    build.person("ana", "Ana Pérez", "ana@example.org", "research", roles=coordinator)
    build.person("bruno", "Bruno Díaz", "bruno@example.org", "research")
    build.person("carla", "Carla Zelaya", "carla@example.org", "ngo")
    build.person("dora", "Dora Cruz", "dora@example.org", "farmers")
    build.person("omar", "Omar Kamau", "omar@example.org", "outsider")
    return World(engine=domain, clock=clock, **build.ids)
