"""The learning agenda (issue 12): questions belong to the alliance, can be raised at any stage,
and a cycle completes honestly once each is answered, advanced or carried forward."""

from __future__ import annotations

import pytest

from cycle_engine import TransitionNotAllowed
from cycle_engine.actors import Actor
from cycle_engine.alliances.reach import Reach
from cycle_engine.errors import (
    ActionNotAllowed,
    CycleNotFound,
    InvalidInput,
    NotPermitted,
    RecordNotFound,
)

from .conftest import COORDINATOR, World


def to_documentation(world: World, questions: list[str]) -> int:
    """A learning cycle walked to its documentation stage, with products and three contexts."""
    cycle = world.start(questions=questions)
    e = world.engine
    world.fire(cycle, "questions_agreed")
    world.assign_leads(cycle)
    world.fire(cycle, "roles_assigned", "plan_approved")
    e.work.add_product(cycle, "good_practice_review", "R", world.research, link="https://r.org")
    world.fire(cycle, "review_completed")
    e.work.add_product(
        cycle, "prototype", "Market map", world.research, link="https://p.org", form="tool"
    )
    world.fire(cycle, "prototypes_ready")
    for i, country in enumerate(("Guatemala", "Honduras", "Guatemala")):
        context = e.work.add_context(cycle, f"Site {i}", country, f"Village {i}", world.research)
        e.work.report_context(cycle, context.id or 0, "Worked well.", "strong")
    world.fire(cycle, "testing_completed")
    e.work.add_product(cycle, "documented_results", "Results", world.research, link="https://d.org")
    return cycle


def test_start_questions_join_the_alliance_agenda(world: World) -> None:
    """Questions given at the start become agenda questions of the alliance, linked to the cycle."""
    cycle = world.start(questions=["Which channels pay best?", "What do buyers need?"])
    items = world.engine.learning.agenda(world.alliance)
    assert [i.record.text for i in items] == ["Which channels pay best?", "What do buyers need?"]
    assert all(i.open and [c.cycle_id for c in i.cycles] == [cycle] for i in items)
    assert [i.record.raised_in_stage for i in items] == ["question_workshop"] * 2
    assert world.engine.learning.agenda(world.other_alliance) == []


def test_a_question_raised_mid_cycle_records_who_and_why(world: World) -> None:
    """After the workshop, a question is raised with a reason and joins agenda and cycle."""
    cycle = world.start()
    world.fire(cycle, "questions_agreed")
    state = world.engine.learning.raise_question(
        cycle,
        "Do women's groups reach the same buyers?",
        "Field visits showed most sellers are women.",
        organisation_id=world.ngo,
        actor=COORDINATOR,
    )
    assert (state.status, state.question.position) == ("open", 2)
    item = world.engine.learning.agenda(world.alliance)[-1]
    assert item.record.reason == "Field visits showed most sellers are women."
    assert (item.record.raised_by_organisation_id, item.record.raised_in_stage) == (
        world.ngo,
        "role_assignment",
    )
    assert world.engine.history(cycle)[-1].kind == "question_raised"
    with pytest.raises(InvalidInput, match="reason: must not be empty"):
        world.engine.learning.raise_question(cycle, "Why?", " ", actor=COORDINATOR)


def test_cycle_completes_with_answered_advanced_and_carried_forward_questions(
    world: World,
) -> None:
    """Completion waits for a status on every question, not for full answers."""
    cycle = to_documentation(world, ["Q answered?", "Q advanced?", "Q carried?"])
    learning = world.engine.learning
    q1, q2, q3 = (s.question.id or 0 for s in learning.question_states(cycle))
    learning.record_question_status(cycle, q1, "answered", text="Yes.", actor=COORDINATOR)
    learning.record_question_status(cycle, q2, "advanced", text="Partly.", actor=COORDINATOR)
    with pytest.raises(TransitionNotAllowed) as blocked:
        world.fire(cycle, "cycle_documented")
    assert blocked.value.reasons == (
        "learning question 3 is still open: 'Q carried?' (record it answered, advanced, or "
        "carried forward with a note)",
    )
    with pytest.raises(InvalidInput, match="note: must not be empty"):
        learning.record_question_status(cycle, q3, "carried_forward", actor=COORDINATOR)
    learning.record_question_status(
        cycle, q3, "carried_forward", note="Needs a full season of data.", actor=COORDINATOR
    )
    world.fire(cycle, "cycle_documented")
    assert world.engine.get_cycle(cycle).state == "completed"
    statuses = [(s.status, s.text, s.note) for s in learning.question_states(cycle)]
    assert statuses == [
        ("answered", "Yes.", None),
        ("advanced", "Partly.", None),
        ("carried_forward", None, "Needs a full season of data."),
    ]
    open_items = [i.record.text for i in learning.agenda(world.alliance) if i.open]
    assert open_items == ["Q advanced?", "Q carried?"]


def test_answers_wait_for_documentation_but_carrying_forward_does_not(world: World) -> None:
    """answered/advanced belong to documentation; carried_forward is allowed at any stage."""
    cycle = world.start()
    question = world.engine.learning.question_states(cycle)[0].question.id or 0
    with pytest.raises(ActionNotAllowed, match="answers are documented in documentation"):
        world.engine.learning.record_question_status(
            cycle, question, "advanced", text="Early", actor=COORDINATOR
        )
    state = world.engine.learning.record_question_status(
        cycle, question, "carried_forward", note="Out of scope", actor=COORDINATOR
    )
    assert state.status == "carried_forward"
    with pytest.raises(InvalidInput, match="status: must be one of answered, advanced"):
        world.engine.learning.record_question_status(cycle, question, "maybe", actor=COORDINATOR)
    with pytest.raises(RecordNotFound):
        world.engine.learning.record_question_status(
            cycle, 999_999, "carried_forward", note="x", actor=COORDINATOR
        )


def test_partner_raises_questions_for_its_own_organisation_only(world: World) -> None:
    """A partner raises in its own organisation's name (a member with no role yet too), never
    in another's: refused, since every member reads the alliance's cycles (issue 12 item 5);
    outside the alliance the cycle is not found."""
    cycle = world.start()
    carla = Actor(name="carla", role="partner", organisation_id=world.ngo)
    reach = Reach(organisation_id=world.ngo)
    state = world.engine.learning.raise_question(
        cycle, "Who pays for transport?", "Asked at the fair.", actor=carla, reach=reach
    )
    assert state.status == "open"
    with pytest.raises(NotPermitted, match="own organisation"):
        world.engine.learning.raise_question(
            cycle, "Q?", "Why.", organisation_id=world.research, actor=carla, reach=reach
        )
    outsider = Actor(name="out", role="partner", organisation_id=world.outsider)
    with pytest.raises(CycleNotFound):
        world.engine.learning.raise_question(
            cycle, "Q?", "Why.", actor=outsider, reach=Reach(organisation_id=world.outsider)
        )
    world.engine.work.assign(cycle, "work_plan", world.ngo, "informed", actor=COORDINATOR)
    with pytest.raises(NotPermitted, match="own organisation"):
        world.engine.learning.raise_question(
            cycle, "Q?", "Why.", organisation_id=world.research, actor=carla, reach=reach
        )
