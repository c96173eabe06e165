"""Fixtures for the alliance-domain tests: an engine with its own data directory and a small
alliance (three partners, one outsider in another alliance, people in each)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from cycle_engine import Actor, CycleEngine
from cycle_engine.testing import ManualClock

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
    e = domain
    joined = date(2025, 1, 6)
    alliance = e.alliances.create_alliance(
        "Alianza Test", "Market access", timezone="America/Guatemala", language="es"
    )
    other = e.alliances.create_alliance("Other Alliance", "Seed systems", timezone="Africa/Nairobi")
    research = e.alliances.add_organisation(
        "Centro de Investigación", "research", "Guatemala", timezone="America/Guatemala"
    )
    ngo = e.alliances.add_organisation(
        "Fundación Tierra", "ngo", "Honduras", timezone="America/Tegucigalpa"
    )
    farmers = e.alliances.add_organisation(
        "Cooperativa Maíz", "local", "Guatemala", timezone="America/Guatemala"
    )
    outsider = e.alliances.add_organisation(
        "Kenya Seeds", "private", "Kenya", timezone="Africa/Nairobi"
    )
    ids = {}
    for org in (research, ngo, farmers):
        assert alliance.id is not None and org.id is not None
        e.alliances.join_alliance(alliance.id, org.id, joined_on=joined)
    assert other.id is not None and outsider.id is not None and research.id is not None
    e.alliances.join_alliance(other.id, outsider.id, joined_on=joined)
    e.alliances.join_alliance(other.id, research.id, joined_on=joined)
    for key, name, org in (
        ("ana", "Ana Pérez", research),
        ("bruno", "Bruno Díaz", research),
        ("carla", "Carla Zelaya", ngo),
        ("dora", "Dora Cruz", farmers),
        ("omar", "Omar Kamau", outsider),
    ):
        assert org.id is not None
        person = e.alliances.add_person(name, f"{key}@example.org", org.id, joined_on=joined)
        ids[key] = person.id
    e.alliances.grant_role(alliance.id, ids["ana"], "coordinator")
    return World(
        engine=e,
        clock=clock,
        alliance=alliance.id,
        other_alliance=other.id,
        research=research.id,
        ngo=ngo.id or 0,
        farmers=farmers.id or 0,
        outsider=outsider.id,
        **ids,
    )
