"""Fixtures for the outbox tests (and, imported from here, the notification tests): a small
Learning Alliance with people in several roles, languages and zones, and one learning cycle."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlmodel import Session

from cycle_engine import CycleEngine
from cycle_engine.actors import Actor
from cycle_engine.outbox.enqueue import Scope
from cycle_engine.testing import ManualClock, WorldBuilder

COORDINATOR = Actor(name="cora", role="coordinator")
ORGANISATIONS = ("research", "farmers", "donor", "secretariat")


@dataclass
class World:
    """A small alliance: a lead organisation (focal point Ana, deputy Ben, colleague Carla),
    an active one (focal point Dario), an informed one (Eve), a coordinator and a manager, and
    one learning cycle in its first stage."""

    engine: CycleEngine
    clock: ManualClock
    alliance_id: int
    cycle_id: int
    people: dict[str, int]
    organisations: dict[str, int]

    def person(self, name: str) -> int:
        return self.people[name]

    def first_stage_scope(self, session: Session) -> Scope:
        """The outbox's scope for the cycle's first stage, inside `session` (which now holds
        the cycle), for tests that enqueue notices by hand."""
        cycle = self.engine.get_cycle(self.cycle_id)
        session.add(cycle)
        spec = self.engine.templates.store.spec(session, cycle.template_id)
        visit = self.engine.cycles.current_stage(self.cycle_id)
        return Scope(
            cycle=cycle, spec=spec, stage="question_workshop", visit=visit, now=self.clock.now()
        )


def build_world(engine: CycleEngine, clock: ManualClock, *, hostile: bool = False) -> World:
    """The world; `hostile` gives the research centre and Ana names that try to inject HTML and
    mail headers."""
    engine.publish_builtin_templates()
    build = WorldBuilder(engine, actor=COORDINATOR)
    build.alliance(
        "alliance",
        "Rural enterprise alliance",
        "Rural enterprise development",
        timezone="UTC",
        working_hours_start=0,
        working_hours_end=24,
        weekend_days="",
    )
    research_name = (
        '<script>alert("x")</script> Research\r\nBcc: victim@example.org'
        if hostile
        else "Research Centre"
    )
    member = ["alliance"]
    build.organisation("research", research_name, "research", "Colombia", member_of=member)
    build.organisation("farmers", "Farmers Network", "local", "Guatemala", member_of=member)
    build.organisation("donor", "Donor Agency", "donor", "Netherlands", member_of=member)
    build.organisation("secretariat", "Alliance Secretariat", "ngo", "Colombia", member_of=member)
    ana_name = "Ana\r\nBcc: victim@example.org <b>Pérez</b>" if hostile else "Ana Pérez"
    people = [
        ("ana", ana_name, "ana@research.example.org", "research", "es", "America/Bogota"),
        ("ben", "Ben Okafor", "ben@research.example.org", "research", "en", "Europe/London"),
        ("carla", "Carla Dubois", "carla@research.example.org", "research", "fr", "Europe/Paris"),
        ("dario", "Dario López", "dario@farmers.example.org", "farmers", "es", "America/Guatemala"),
        ("eve", "Eve de Vries", "eve@donor.example.org", "donor", "en", "Europe/Amsterdam"),
        ("cora", "Cora Coordinator", "cora@secretariat.example.org", "secretariat", "en", "UTC"),
        ("max", "Max Manager", "max@secretariat.example.org", "secretariat", "fr", "UTC"),
    ]
    roles = {"cora": {"alliance": "coordinator"}, "max": {"alliance": "manager"}}
    for key, name, email, organisation, language, zone in people:
        build.person(
            key, name, email, organisation, language=language, timezone=zone, roles=roles.get(key)
        )
    build.cycle(
        "cycle",
        "learning-cycle",
        "Market access for smallholders",
        "alliance",
        questions=["What helps farmers sell?"],
    )
    stage = "question_workshop"
    build.role("cycle", stage, "research", "lead", focal_point="ana", deputy="ben")
    build.role("cycle", stage, "farmers", "active", focal_point="dario")
    build.role("cycle", stage, "donor", "informed")
    return World(
        engine=engine,
        clock=clock,
        alliance_id=build.ids["alliance"],
        cycle_id=build.ids["cycle"],
        people={key: build.ids[key] for key, *_ in people},
        organisations={key: build.ids[key] for key in ORGANISATIONS},
    )


@pytest.fixture
def world(engine: CycleEngine, clock: ManualClock) -> World:
    """The alliance and cycle on a fresh database (SQLite and PostgreSQL)."""
    return build_world(engine, clock)
