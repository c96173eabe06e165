"""Distinct contexts (issue 12): the rapid cycle's field test counts contexts in distinct
communities run by organisations with a testing role; adapted versions link to the prototype and
context they came from; the cycle report lists every organisation that ran a context."""

from __future__ import annotations

import pytest

from cycle_engine import TransitionNotAllowed
from cycle_engine.errors import InputConflict

from .conftest import COORDINATOR, World

RAPID_LATER = ["quick_review", "prototype", "field_test", "documentation"]


def rapid_in_field_test(world: World) -> int:
    cycle = world.start("rapid-cycle")
    e = world.engine
    world.assign_leads(cycle, RAPID_LATER)
    world.fire(cycle, "kickoff_done")
    e.work.add_product(cycle, "good_practice_review", "R", world.research, link="https://r.org")
    world.fire(cycle, "review_completed")
    e.work.add_product(cycle, "prototype", "Map", world.research, link="https://p.org", form="tool")
    world.fire(cycle, "prototypes_ready")
    return cycle


def report(world: World, cycle: int, name: str, community: str, organisation: int) -> int:
    context = world.engine.work.add_context(cycle, name, "Honduras", community, organisation)
    world.engine.work.report_context(cycle, context.id or 0, "Worked.", "strong")
    return context.id or 0


def test_one_community_or_roleless_organisation_does_not_pass_as_distinct(world: World) -> None:
    """Two reports from one village, and one from an organisation with no testing role, are
    refused with the reasons; a second community run by a lead passes."""
    cycle = rapid_in_field_test(world)
    report(world, cycle, "North plot", "Olancho", world.research)
    report(world, cycle, "South plot", "Olancho", world.research)
    report(world, cycle, "Farmers' plot", "Intibucá", world.farmers)  # no role in field_test
    with pytest.raises(TransitionNotAllowed) as blocked:
        world.fire(cycle, "testing_completed")
    assert blocked.value.reasons == (
        "contexts in 2 distinct communities must report; 1 did: olancho (honduras)",
        "not counted: Farmers' plot (its organisation has no lead or active role in field_test)",
    )
    world.engine.work.assign(cycle, "field_test", world.farmers, "active", actor=COORDINATOR)
    world.fire(cycle, "testing_completed")
    assert world.engine.get_cycle(cycle).state == "documentation"
    names = [name for name, _, _ in world.engine.work.cycle_report(cycle).organisations]
    assert "Cooperativa Maíz" in names


def test_adapted_version_links_to_its_prototype_and_context(world: World) -> None:
    """The link names the prototype and the context; wrong kinds are refused."""
    cycle = rapid_in_field_test(world)
    context = report(world, cycle, "North plot", "Olancho", world.research)
    e = world.engine
    prototype = e.work.cycle_products(cycle, "prototype")[0].id or 0
    adapted = e.work.add_product(
        cycle, "adapted_version", "Map (Olancho)", world.research, link="https://a.org", form="tool"
    )
    link = e.learning.link_adapted_version(
        cycle, adapted.id or 0, prototype, context, actor=COORDINATOR
    )
    assert (link.prototype_id, link.context_id) == (prototype, context)
    assert [v.product_id for v in e.learning.adapted_versions(cycle)] == [adapted.id]
    with pytest.raises(InputConflict, match="is a prototype"):
        e.learning.link_adapted_version(cycle, prototype, prototype, context, actor=COORDINATOR)
