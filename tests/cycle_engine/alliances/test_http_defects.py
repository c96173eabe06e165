"""Defects a host tool met over HTTP (issue 19, item 8), reproduced on the engine the API and the
dashboard share: a lead partner reported results for a context another organisation runs; a new
person's language was English in a Spanish-speaking alliance."""

from __future__ import annotations

import pytest

from cycle_engine.actors import Actor
from cycle_engine.alliances.reach import Reach
from cycle_engine.errors import NotPermitted

from .conftest import COORDINATOR, World
from .test_products_contexts import _to_testing


def test_a_partner_reports_only_the_contexts_its_organisation_runs(world: World) -> None:
    cycle = _to_testing(world)
    work = world.engine.work
    theirs = work.add_context(
        cycle, "Copán", "Honduras", "Copán Ruinas", world.ngo, actor=COORDINATOR
    )
    ours = work.add_context(
        cycle, "Quiché", "Guatemala", "Nebaj", world.research, actor=COORDINATOR
    )
    research = Reach(organisation_id=world.research)
    partner = world.engine.alliances.get_person(world.bruno)
    actor = Actor(name=f"person:{partner.email}", role="partner", organisation_id=world.research)
    with pytest.raises(NotPermitted, match="contexts its organisation runs"):
        work.report_context(
            cycle, theirs.id or 0, "Buyers came.", "strong", actor=actor, reach=research
        )
    assert work.context_results(cycle) == []
    reported = work.report_context(
        cycle, ours.id or 0, "Buyers came.", "strong", actor=actor, reach=research
    )
    assert reported.context_id == ours.id
    coordinator = work.report_context(
        cycle,
        theirs.id or 0,
        "Mixed.",
        "mixed",
        actor=COORDINATOR,
        reach=Reach(alliance_ids=frozenset({world.alliance})),
    )
    assert coordinator.context_id == theirs.id


def test_a_new_persons_language_is_the_alliances_unless_given(world: World) -> None:
    alliances = world.engine.alliances
    assert alliances.get_alliance(world.alliance).language == "es"
    elena = alliances.add_person("Elena Ruiz", "elena@example.org", world.ngo)
    assert elena.language == "es"
    given = alliances.add_person("Fred Ames", "fred@example.org", world.ngo, language="fr")
    assert given.language == "fr"
    loner = alliances.add_organisation("Solo", "ngo", "Peru")
    nobody = alliances.add_person("Gil Paz", "gil@example.org", loner.id or 0)
    assert nobody.language == "en"
