"""Follow-on cycles, adoption and outcome records, level proposals and organisations leaving
(issue 12), and the alliance learning report built from those records."""

from __future__ import annotations

from datetime import date

import pytest

from cycle_engine.actors import Actor
from cycle_engine.alliances.reach import Reach
from cycle_engine.errors import (
    ActionNotAllowed,
    AllianceNotFound,
    CycleNotFound,
    InputConflict,
    InvalidInput,
    NotPermitted,
    RecordNotFound,
)

from .conftest import COORDINATOR, LATER_STAGES, World
from .test_learning_agenda import to_documentation

CARLA = "carla"


def finished_cycle(world: World) -> tuple[int, list[int]]:
    """A completed cycle with one answered, one advanced, one carried-forward question."""
    cycle = to_documentation(world, ["Q answered?", "Q advanced?", "Q carried?"])
    learning = world.engine.learning
    ids = [s.question.id or 0 for s in learning.question_states(cycle)]
    learning.record_question_status(cycle, ids[0], "answered", text="Yes.", actor=COORDINATOR)
    learning.record_question_status(cycle, ids[1], "advanced", text="Partly.", actor=COORDINATOR)
    learning.record_question_status(
        cycle, ids[2], "carried_forward", note="Next season.", actor=COORDINATOR
    )
    world.fire(cycle, "cycle_documented")
    return cycle, ids


def test_follow_on_carries_open_questions_inputs_and_participants(world: World) -> None:
    """The follow-on works on the open questions, takes the prototype, proposes the roles,
    and both cycles link to each other."""
    source, ids = finished_cycle(world)
    e = world.engine
    prototype = e.work.cycle_products(source, "prototype")[0]
    follow = e.learning.start_follow_on(source, "Market access II", actor=COORDINATOR)
    new = follow.cycle.id or 0
    states = e.learning.question_states(new)
    assert [s.question.text for s in states] == ["Q advanced?", "Q carried?"]
    assert [s.carried_from_id for s in states] == ids[1:]
    agenda = {i.record.text: i for i in e.learning.agenda(world.alliance)}
    assert [c.cycle_id for c in agenda["Q carried?"].cycles] == [source, new]
    links, inputs = e.learning.links(new)
    assert [(link.from_cycle_id, link.to_cycle_id) for link in links] == [(source, new)]
    assert [p.id for p in inputs] == [prototype.id]
    assert e.learning.links(source)[0] == links
    proposals = e.learning.proposals(new)
    assert {(p.stage, p.organisation_id, p.level, p.source) for p in proposals} == {
        (stage, world.research, "lead", "follow_on") for stage in LATER_STAGES
    }
    assert e.history(source)[-1].kind == "followed_by"
    assert e.history(new)[-1].data["from_cycle_id"] == source
    mapped = e.learning.cycle_map(world.alliance)
    assert [c.cycle_id for c in mapped.cycles] == [source, new]
    assert [(x.from_cycle_id, x.to_cycle_id) for x in mapped.links] == [(source, new)]
    world.fire(new, "questions_agreed")  # the carried questions satisfy the workshop


def test_follow_on_of_a_running_cycle_marks_chosen_questions_carried_forward(
    world: World,
) -> None:
    """Choosing an open question of a running cycle records it as carried forward there."""
    source = world.start(questions=["Q one?", "Q two?"])
    e = world.engine
    ids = [s.question.id or 0 for s in e.learning.question_states(source)]
    with pytest.raises(RecordNotFound):
        e.learning.start_follow_on(source, "Next", question_ids=[999_999], actor=COORDINATOR)
    follow = e.learning.start_follow_on(source, "Next", question_ids=[ids[1]], actor=COORDINATOR)
    states = e.learning.question_states(source)
    assert [(s.status, s.note) for s in states] == [
        ("open", None),
        ("carried_forward", f"carried forward to cycle {follow.cycle.id} (Next)"),
    ]
    partner = Actor(name=CARLA, role="partner", organisation_id=world.ngo)
    e.work.assign(source, "work_plan", world.ngo, "informed", actor=COORDINATOR)
    with pytest.raises(NotPermitted):
        e.learning.start_follow_on(
            source, "Mine", actor=partner, reach=Reach(organisation_id=world.ngo)
        )


def test_answered_questions_are_not_carried_forward(world: World) -> None:
    """Naming a fully answered question is refused and starts nothing."""
    source, ids = finished_cycle(world)
    before = len(world.engine.learning.cycle_map(world.alliance).cycles)
    with pytest.raises(InputConflict, match=r"question 1 of cycle \d+ is answered"):
        world.engine.learning.start_follow_on(
            source, "Again", question_ids=[ids[0]], actor=COORDINATOR
        )
    assert len(world.engine.learning.cycle_map(world.alliance).cycles) == before


def test_adoptions_and_outcomes_feed_the_alliance_report(world: World) -> None:
    """Adoption counts per tool, organisation kind and country come from the records."""
    source, _ = finished_cycle(world)
    e = world.engine
    learning = e.learning
    tool = e.work.cycle_products(source, "prototype")[0].id or 0
    review = e.work.cycle_products(source, "good_practice_review")[0].id or 0
    day = date(2025, 6, 1)
    for org, use, country in (
        (world.research, "used", "Guatemala"),
        (world.ngo, "adapted", "Honduras"),
        (world.farmers, "used", "Guatemala"),
    ):
        learning.record_adoption(
            world.alliance, tool, org, use, country=country, place="Valley",
            adopted_on=day, description="Used in training.", actor=COORDINATOR,
        )  # fmt: skip
    with pytest.raises(InputConflict, match="is a good_practice_review"):
        learning.record_adoption(
            world.alliance, review, world.ngo, "used", country="Honduras", place="X",
            adopted_on=day, description="d", actor=COORDINATOR,
        )  # fmt: skip
    with pytest.raises(InvalidInput, match="not a member"):
        learning.record_adoption(
            world.alliance, tool, world.outsider, "used", country="Kenya", place="X",
            adopted_on=day, description="d", actor=COORDINATOR,
        )  # fmt: skip
    partner = Actor(name=CARLA, role="partner", organisation_id=world.ngo)
    with pytest.raises(NotPermitted, match="own organisation"):
        learning.record_adoption(
            world.alliance, tool, world.research, "used", country="Guatemala", place="X",
            adopted_on=day, description="d", actor=partner, reach=Reach(organisation_id=world.ngo),
        )  # fmt: skip
    entry = e.work.add_learning(
        source, "knowledge_capacity", "Market maps", "Used across countries.", [world.ngo]
    )
    learning.record_outcome(
        world.alliance, "policy_dialogue", "Ministry round table", "Presented the maps.",
        observed_on=day, cycle_ids=[source], learning_ids=[entry.record.id or 0],
        actor=COORDINATOR,
    )  # fmt: skip
    learning.record_outcome(
        world.alliance, "research_need", "Price data", "No price series exists.",
        observed_on=day, cycle_ids=[source], actor=COORDINATOR,
    )  # fmt: skip
    report = learning.alliance_report(world.alliance)
    (row,) = report.adoption.tools
    assert (row.title, row.used, row.adapted) == ("Market map", 2, 1)
    assert (row.spread.agencies, row.spread.local_organisations, row.spread.countries) == (2, 1, 2)
    assert [(c.name, c.used, c.adapted) for c in report.adoption.by_country] == [
        ("Guatemala", 2, 0),
        ("Honduras", 0, 1),
    ]
    knowledge = next(r for r in report.table1 if r.kind == "knowledge_capacity")
    assert [(x.title, x.organisations) for x in knowledge.entries] == [
        ("Market maps", ("Fundación Tierra",))
    ]
    assert [o.title for o in report.outcomes] == ["Ministry round table"]
    assert [o.title for o in report.research_needs] == ["Price data"]
    assert [q.text for q in report.open_questions] == ["Q advanced?", "Q carried?"]
    assert report.cycles[0].context_organisations == ("Centro de Investigación",)
    markdown = learning.render_alliance_report(world.alliance)
    assert "| Market map (tool) | Market access | 2 | 1 | 2 | 1 | 2 (Guatemala, Honduras) |" in (
        markdown
    )
    html = learning.render_alliance_report(world.alliance, "html")
    assert "<h2>Table 1: the alliance's learning</h2>" in html
    assert "<td>Market map (tool)</td><td>Market access</td><td>2</td><td>1</td>" in html
    outsider = Reach(organisation_id=world.outsider)
    with pytest.raises(AllianceNotFound):
        learning.alliance_report(world.alliance, reach=outsider)
    member = Reach(organisation_id=world.farmers)  # no role on any cycle, still a member
    assert learning.alliance_report(world.alliance, reach=member).alliance == "Alianza Test"


def test_partner_proposes_its_level_and_the_coordinator_confirms_or_changes(
    world: World,
) -> None:
    """The proposal and the decision are both kept; participation follows the decision."""
    cycle = world.start()
    e = world.engine
    carla = Actor(name=CARLA, role="partner", organisation_id=world.ngo)
    reach = Reach(organisation_id=world.ngo)
    first = e.learning.propose_level(  # no role on the cycle yet: a member proposes its own
        cycle, "prototype", world.ngo, "lead", actor=carla, reach=reach
    )
    # ... and for no other organisation: members read the cycle (issue 12 item 5), so 403
    with pytest.raises(NotPermitted, match="own organisation"):
        e.learning.propose_level(
            cycle, "prototype", world.research, "lead", actor=carla, reach=reach
        )
    with pytest.raises(CycleNotFound):  # outside the alliance the cycle is not found
        e.learning.propose_level(
            cycle,
            "prototype",
            world.outsider,
            "lead",
            actor=Actor(name="Out", role="partner", organisation_id=world.outsider),
            reach=Reach(organisation_id=world.outsider),
        )
    decided = e.learning.decide_proposal(
        cycle, first.id or 0, level="active", note="Research leads", actor=COORDINATOR
    )
    assert (decided.status, decided.level, decided.decided_level) == ("changed", "lead", "active")
    levels = {(p.stage, p.organisation_id): p.level for p in e.work.participants(cycle)}
    assert levels[("prototype", world.ngo)] == "active"
    with pytest.raises(NotPermitted, match="own organisation"):
        e.learning.propose_level(
            cycle, "prototype", world.research, "lead", actor=carla, reach=reach
        )
    with pytest.raises(NotPermitted):
        e.learning.decide_proposal(cycle, first.id or 0, actor=carla, reach=reach)
    second = e.learning.propose_level(
        cycle, "documentation", world.ngo, "informed", actor=carla, reach=reach
    )
    assert e.learning.decide_proposal(cycle, second.id or 0, actor=COORDINATOR).status == (
        "confirmed"
    )
    with pytest.raises(ActionNotAllowed, match="already confirmed"):
        e.learning.decide_proposal(cycle, second.id or 0, actor=COORDINATOR)
    kinds = [ev.kind for ev in e.history(cycle) if ev.kind != "question_added"][1:]
    assert kinds == [
        "level_proposed",
        "participation_changed",
        "level_decided",
        "level_proposed",
        "participation_changed",
        "level_decided",
    ]


def test_organisation_leaving_flags_its_open_roles_and_counts_in_turnover(world: World) -> None:
    """Like a departing focal point: open stages need a new focal point; finished ones stay."""
    cycle = world.start()
    e = world.engine
    for stage in ("question_workshop", "prototype", "documentation"):
        e.work.assign(
            cycle, stage, world.ngo, "active", focal_point_id=world.carla, actor=COORDINATOR
        )
    world.fire(cycle, "questions_agreed")
    flagged = e.learning.organisation_left(
        world.alliance, world.ngo, "Project funding ended.", left_on=date(2025, 3, 1),
        actor=COORDINATOR,
    )  # fmt: skip
    assert flagged == {cycle: ["documentation", "prototype"]}
    rows = {
        r.stage: r.needs_focal_point
        for r in e.work.participants(cycle)
        if r.organisation_id == world.ngo
    }
    assert rows == {"question_workshop": False, "prototype": True, "documentation": True}
    assert e.history(cycle)[-1].kind == "organisation_left"
    with pytest.raises(ActionNotAllowed, match="already"):
        e.learning.organisation_left(world.alliance, world.ngo, "Again", actor=COORDINATOR)
    with pytest.raises(InvalidInput, match="reason"):
        e.learning.organisation_left(world.alliance, world.farmers, " ", actor=COORDINATOR)
    turnover = e.learning.organisation_turnover(world.alliance)
    assert (turnover.members, turnover.left) == (3, 1)
    assert [(d.name, d.left_on, d.reason) for d in turnover.left_organisations] == [
        ("Fundación Tierra", date(2025, 3, 1), "Project funding ended.")
    ]
    partner = Actor(name=CARLA, role="partner", organisation_id=world.farmers)
    with pytest.raises(NotPermitted):
        e.learning.organisation_left(
            world.alliance,
            world.farmers,
            "x",
            actor=partner,
            reach=Reach(organisation_id=world.farmers),
        )
