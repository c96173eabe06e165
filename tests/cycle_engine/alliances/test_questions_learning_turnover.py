"""Learning questions (agreed in the workshop, answered in documentation), the learning log,
and turnover: people leaving flag the stages they were focal point of."""

from __future__ import annotations

from datetime import date

import pytest

from cycle_engine import InvalidInput, TransitionNotAllowed
from cycle_engine.errors import ActionNotAllowed

from .conftest import COORDINATOR, World


def _to_documentation(world: World) -> int:
    cycle = world.start(questions=["Which channels pay best?", "What do buyers need?"])
    e = world.engine
    world.fire(cycle, "questions_agreed")
    world.assign_leads(cycle)
    world.fire(cycle, "roles_assigned", "plan_approved")
    e.work.add_product(
        cycle, "good_practice_review", "R", world.research, link="https://r.example.org"
    )
    world.fire(cycle, "review_completed")
    e.work.add_product(cycle, "prototype", "P", world.research, link="https://p.example.org")
    e.work.assign(cycle, "multi_context_testing", world.farmers, "active", actor=COORDINATOR)
    world.fire(cycle, "prototypes_ready")
    for i in range(3):
        context = e.work.add_context(cycle, f"Site {i}", "Guatemala", f"Village {i}", world.farmers)
        e.work.report_context(cycle, context.id or 0, "Worked well.", "strong")
    world.fire(cycle, "testing_completed")
    return cycle


def test_questions_start_with_the_cycle_and_are_added_only_in_the_workshop(world: World) -> None:
    """Start questions become events; more may be added in the workshop, not after."""
    cycle = world.start(questions=["Q one?", "Q two?"])
    world.engine.work.add_questions(cycle, ["Q three?"], actor=COORDINATOR)
    assert [q.position for q in world.engine.work.learning_questions(cycle)] == [1, 2, 3]
    kinds = [e.kind for e in world.engine.history(cycle)]
    assert kinds == ["started", "question_added", "question_added", "question_added"]
    world.fire(cycle, "questions_agreed")
    with pytest.raises(ActionNotAllowed, match="questions are agreed in 'question_workshop'"):
        world.engine.work.add_questions(cycle, ["Late question?"])


def test_workshop_cannot_end_without_a_question(world: World) -> None:
    """`learning_questions: 1` blocks questions_agreed with how many are recorded."""
    cycle = world.start(questions=[])
    with pytest.raises(TransitionNotAllowed) as blocked:
        world.fire(cycle, "questions_agreed")
    assert blocked.value.reasons == ("at least 1 learning question(s) needed; 0 recorded",)


def test_cycle_is_documented_only_when_every_question_is_answered(world: World) -> None:
    """`questions_answered` lists each unanswered question until all have answers."""
    cycle = _to_documentation(world)
    e = world.engine
    e.work.add_product(
        cycle, "documented_results", "Results", world.research, link="https://d.example.org"
    )
    questions = e.work.learning_questions(cycle)
    e.work.answer_questions(cycle, {questions[0].id or 0: "Direct contracts with supermarkets."})
    with pytest.raises(TransitionNotAllowed) as blocked:
        world.fire(cycle, "cycle_documented")
    assert blocked.value.reasons == (
        "learning question 2 is still open: 'What do buyers need?' (record it answered, "
        "advanced, or carried forward with a note)",
    )
    e.work.answer_questions(cycle, {questions[1].id or 0: "Steady volumes and quality."})
    assert world.engine.history(cycle)[-1].data == {
        "question_ids": [questions[1].id],
        "unanswered": 0,
    }
    world.fire(cycle, "cycle_documented")
    assert world.engine.get_cycle(cycle).state == "completed"


def test_answers_belong_to_documentation(world: World) -> None:
    """Answering before documentation is refused, naming the stage where answers go."""
    cycle = world.start()
    question = world.engine.work.learning_questions(cycle)[0]
    with pytest.raises(ActionNotAllowed, match="answers are documented in documentation"):
        world.engine.work.answer_questions(cycle, {question.id or 0: "Too early"})


def test_learning_entries_are_typed_and_linked_to_member_organisations(world: World) -> None:
    """A learning entry has a kind the method names and links member organisations."""
    cycle = world.start()
    e = world.engine
    entry = e.work.add_learning(
        cycle,
        "organisational_learning",
        "Quarterly joint reviews",
        "Partners review results together.",
        [world.research, world.ngo],
    )
    assert sorted(o.name for o in entry.organisations) == [
        "Centro de Investigación",
        "Fundación Tierra",
    ]
    assert e.history(cycle)[-1].kind == "learning_added"
    with pytest.raises(InvalidInput, match="kind: must be one of organisational_learning"):
        e.work.add_learning(cycle, "gossip", "T", "X", [world.ngo])
    with pytest.raises(InvalidInput, match="not a member"):
        e.work.add_learning(cycle, "knowledge_capacity", "T", "X", [world.outsider])
    with pytest.raises(InvalidInput, match="at least one organisation"):
        e.work.add_learning(cycle, "knowledge_capacity", "T", "X", [])
    assert len(e.work.learning_log(cycle)) == 1


def test_person_leaving_flags_their_stages_and_records_an_event(world: World) -> None:
    """Every open stage with the leaver as focal point needs a new one; finished ones do not."""
    cycle = world.start()
    e = world.engine
    e.work.assign(
        cycle,
        "question_workshop",
        world.research,
        "lead",
        focal_point_id=world.bruno,
        actor=COORDINATOR,
    )
    world.fire(cycle, "questions_agreed")
    e.work.assign(
        cycle,
        "prototype",
        world.research,
        "lead",
        focal_point_id=world.bruno,
        deputy_id=world.ana,
        actor=COORDINATOR,
    )
    e.work.assign(
        cycle,
        "documentation",
        world.research,
        "lead",
        focal_point_id=world.ana,
        deputy_id=world.bruno,
        actor=COORDINATOR,
    )
    flagged = e.alliances.person_left(world.bruno, left_on=date(2026, 1, 20), actor=COORDINATOR)
    assert flagged == {cycle: ["prototype"]}
    event = e.history(cycle)[-1]
    assert (event.kind, event.data["stages"], event.data["deputy_of"]) == (
        "focal_point_left",
        ["prototype"],
        ["documentation"],
    )
    rows = {r.stage: r for r in e.work.participants(cycle)}
    assert rows["prototype"].needs_focal_point and not rows["question_workshop"].needs_focal_point
    assert rows["documentation"].deputy_id is None
    lacking = e.work.stages_lacking_focal_point(cycle)
    assert lacking["prototype"] == (
        "focal point Bruno Díaz of Centro de Investigación left on 2026-01-20; "
        "Centro de Investigación needs a new one"
    )
    with pytest.raises(InvalidInput, match="left 'Centro de Investigación' on 2026-01-20"):
        e.work.assign(
            cycle,
            "prototype",
            world.research,
            "lead",
            focal_point_id=world.bruno,
            actor=COORDINATOR,
        )
    e.work.assign(
        cycle, "prototype", world.research, "lead", focal_point_id=world.ana, actor=COORDINATOR
    )
    assert "prototype" not in e.work.stages_lacking_focal_point(cycle)


def test_turnover_and_workload_per_organisation(world: World) -> None:
    """Turnover counts who left per organisation; workload shows leads and focal points."""
    cycle = world.start()
    e = world.engine
    world.assign_leads(cycle, ["prototype", "documentation"])
    e.work.assign(cycle, "prototype", world.ngo, "active", focal_point_id=world.carla)
    e.alliances.person_left(world.ana, left_on=date(2026, 2, 1))
    with pytest.raises(ActionNotAllowed, match="they left on 2026-02-01"):
        e.alliances.person_left(world.ana)
    turnover = {t.organisation: t for t in e.alliances.turnover(world.alliance)}
    research = turnover["Centro de Investigación"]
    assert (research.headcount, research.left, research.rate) == (2, 1, 0.5)
    assert (research.left_people, research.stages_needing_focal_point) == (("Ana Pérez",), 2)
    assert turnover["Fundación Tierra"].left == 0
    assert e.alliances.turnover(world.alliance, until=date(2026, 1, 31))[0].left == 0
    workload = {w.organisation: w for w in e.alliances.workload(world.alliance)}
    assert (
        workload["Centro de Investigación"].lead,
        workload["Centro de Investigación"].needing_focal_point,
    ) == (2, 2)
    assert workload["Fundación Tierra"].focal_points == {"Carla Zelaya": 1}
