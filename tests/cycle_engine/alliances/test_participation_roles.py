"""Participation per stage: assigning lead/active/informed with focal points, the errors for bad
assignments, the `roles_assigned` guard's reasons, and roles derived for partners."""

from __future__ import annotations

import pytest

from cycle_engine import Actor, InvalidInput, TransitionNotAllowed
from cycle_engine.errors import ActionNotAllowed, OrganisationNotFound

from .conftest import COORDINATOR, LATER_STAGES, World


def test_role_assignment_blocked_until_every_later_stage_has_a_lead(world: World) -> None:
    """`roles_assigned` names each remaining stage without a lead with an active focal point."""
    cycle = world.start()
    world.fire(cycle, "questions_agreed")
    world.assign_leads(cycle, ["work_plan", "good_practice_review", "prototype"])
    world.engine.work.assign(cycle, "multi_context_testing", world.ngo, "lead", actor=COORDINATOR)
    with pytest.raises(TransitionNotAllowed) as blocked:
        world.fire(cycle, "roles_assigned")
    assert blocked.value.reasons == (
        "stage Multi-context testing lacks a lead with an active focal point: "
        "lead Fundación Tierra has named no focal point",
        "stage Documentation lacks a lead with an active focal point: no lead organisation",
    )
    world.engine.work.assign(
        cycle,
        "multi_context_testing",
        world.ngo,
        "lead",
        focal_point_id=world.carla,
        actor=COORDINATOR,
    )
    world.assign_leads(cycle, ["documentation"])
    world.fire(cycle, "roles_assigned")
    assert world.engine.get_cycle(cycle).state == "work_plan"


def test_assignment_is_recorded_as_an_event_and_replaces_the_earlier_choice(world: World) -> None:
    """Re-assigning an organisation updates its row and each change is one history event."""
    cycle = world.start()
    world.engine.work.assign(cycle, "prototype", world.ngo, "active", actor=COORDINATOR)
    world.engine.work.assign(
        cycle, "prototype", world.ngo, "lead", focal_point_id=world.carla, actor=COORDINATOR
    )
    rows = world.engine.work.participants(cycle)
    assert [(r.stage, r.level, r.focal_point_id) for r in rows] == [
        ("prototype", "lead", world.carla)
    ]
    events = [e for e in world.engine.history(cycle) if e.kind == "participation_changed"]
    assert [e.data["level"] for e in events] == ["active", "lead"]
    assert events[1].data["previous"] == {"level": "active", "focal_point_id": None}


@pytest.mark.parametrize(
    ("organisation", "person", "error", "message"),
    [
        ("outsider", None, InvalidInput, "Kenya Seeds.*not a member of alliance 'Alianza Test'"),
        ("research", "omar", InvalidInput, "Omar Kamau.*works for 'Kenya Seeds', which is not in"),
        ("research", "carla", InvalidInput, "works for 'Fundación Tierra', not for 'Centro"),
    ],
)
def test_bad_assignments_are_refused_and_change_nothing(
    world: World, organisation: str, person: str | None, error: type[Exception], message: str
) -> None:
    """An outside organisation, a person from another alliance or another organisation fails."""
    cycle = world.start()
    version = world.engine.get_cycle(cycle).version
    with pytest.raises(error, match=message):
        world.engine.work.assign(
            cycle,
            "prototype",
            getattr(world, organisation),
            "lead",
            focal_point_id=getattr(world, person) if person else None,
            actor=COORDINATOR,
        )
    assert world.engine.work.participants(cycle) == []
    assert world.engine.get_cycle(cycle).version == version


def test_unknown_organisation_stage_and_level_are_named(world: World) -> None:
    """Unknown organisation ids, stages and levels each get their own clear error."""
    cycle = world.start()
    with pytest.raises(OrganisationNotFound):
        world.engine.work.assign(cycle, "prototype", 999, "lead", actor=COORDINATOR)
    with pytest.raises(InvalidInput, match="no work stage 'protoype'"):
        world.engine.work.assign(cycle, "protoype", world.ngo, "lead", actor=COORDINATOR)
    with pytest.raises(InvalidInput, match="level: must be one of lead, active, informed"):
        world.engine.work.assign(cycle, "prototype", world.ngo, "boss", actor=COORDINATOR)


def test_lead_on_a_finished_stage_is_refused(world: World) -> None:
    """A stage the cycle has already passed cannot get a new lead."""
    cycle = world.start()
    world.fire(cycle, "questions_agreed")
    with pytest.raises(ActionNotAllowed, match="stage 'question_workshop' is already finished"):
        world.engine.work.assign(cycle, "question_workshop", world.ngo, "lead", actor=COORDINATOR)


def test_only_coordinators_assign_and_deputy_rules_hold(world: World) -> None:
    """A partner cannot assign roles; a deputy needs a focal point and must be someone else."""
    cycle = world.start()
    partner = Actor(name="carla", role="partner", organisation_id=world.ngo)
    with pytest.raises(ActionNotAllowed, match="only a coordinator"):
        world.engine.work.assign(cycle, "prototype", world.ngo, "lead", actor=partner)
    with pytest.raises(InvalidInput, match="name a focal point before a deputy"):
        world.engine.work.assign(
            cycle, "prototype", world.research, "lead", deputy_id=world.bruno, actor=COORDINATOR
        )
    with pytest.raises(InvalidInput, match="someone other than the focal point"):
        world.engine.work.assign(
            cycle,
            "prototype",
            world.research,
            "lead",
            focal_point_id=world.ana,
            deputy_id=world.ana,
            actor=COORDINATOR,
        )


def test_lead_partner_may_fire_lead_triggers_of_its_stage(world: World) -> None:
    """A partner of the lead organisation of the current stage may fire triggers for `lead`."""
    cycle = world.start()
    world.engine.work.assign(
        cycle, "question_workshop", world.ngo, "lead", focal_point_id=world.carla, actor=COORDINATOR
    )
    world.engine.work.assign(
        cycle, "question_workshop", world.farmers, "informed", actor=COORDINATOR
    )
    informed = Actor(name="dora", role="partner", person_id=world.dora)
    with pytest.raises(TransitionNotAllowed, match="only coordinator, lead may fire"):
        world.engine.fire(cycle, "questions_agreed", actor=informed)
    lead = Actor(name="carla", role="partner", person_id=world.carla)
    world.engine.fire(cycle, "questions_agreed", actor=lead)
    assert world.engine.get_cycle(cycle).state == "role_assignment"


def test_recipients_name_focal_points_levels_and_coordinators(world: World) -> None:
    """Recipients of a stage carry why they hear: focal point, level, coordinator."""
    cycle = world.start()
    e = world.engine
    e.work.assign(
        cycle, "prototype", world.research, "lead", focal_point_id=world.bruno, actor=COORDINATOR
    )
    e.work.assign(cycle, "prototype", world.ngo, "active", actor=COORDINATOR)
    roles = {r.name: set(r.roles) for r in e.work.recipients_for_stage(cycle, "prototype")}
    assert roles == {
        "Bruno Díaz": {"focal_point", "lead"},
        "Carla Zelaya": {"active"},
        "Ana Pérez": {"coordinator"},
    }


def test_stages_lacking_focal_point_lists_current_and_later_stages(world: World) -> None:
    """The stall helper lists every unfinished stage without an active focal point."""
    cycle = world.start()
    world.assign_leads(cycle, LATER_STAGES[1:])
    lacking = world.engine.work.stages_lacking_focal_point(cycle)
    assert lacking == {
        "question_workshop": "no lead organisation",
        "role_assignment": "no lead organisation",
        "work_plan": "no lead organisation",
    }
