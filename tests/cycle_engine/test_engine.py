"""The engine's commands and queries on every store: one transaction each, clear errors."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cycle_engine import (
    Actor,
    ConflictError,
    CycleEngine,
    CycleFilter,
    CycleNotFound,
    InvalidInput,
    TemplateNotFound,
    TransitionNotAllowed,
    UnknownTrigger,
)
from cycle_engine.testing import ManualClock
from tests.cycle_engine.pilot import PILOT

COORDINATOR = Actor(name="ana", role="coordinator")


@pytest.fixture
def pilot(engine: CycleEngine) -> CycleEngine:
    engine.templates.publish(PILOT, "pilot.yaml")
    return engine


def test_start_puts_cycle_in_initial_stage_with_deadline(
    pilot: CycleEngine, clock: ManualClock
) -> None:
    """A new cycle sits in the initial stage, due after the stage's duration."""
    cycle = pilot.start_cycle("pilot", "Seed systems", actor=COORDINATOR, standalone=True)
    assert cycle.state == "draft"
    assert cycle.version == 1
    stage = pilot.cycles.current_stage(cycle.id or 0)
    assert stage is not None
    assert stage.due_at == clock.now() + timedelta(weeks=1)
    assert [e.kind for e in pilot.history(cycle.id or 0)] == ["started"]


def test_fire_moves_cycle_and_records_history(pilot: CycleEngine, clock: ManualClock) -> None:
    """Firing records who moved the cycle from where to where, with the note."""
    cycle_id = pilot.start_cycle("pilot", "Seed systems", standalone=True).id or 0
    clock.advance(timedelta(days=2))
    result = pilot.fire(cycle_id, "submit", actor=COORDINATOR, note="draft ready")
    assert (result.from_state, result.to_state, result.version) == ("draft", "review", 2)
    last = pilot.history(cycle_id)[-1]
    assert (last.actor, last.trigger, last.from_state, last.to_state, last.note) == (
        "ana",
        "submit",
        "draft",
        "review",
        "draft ready",
    )
    assert last.at == clock.now()


def test_blocked_guard_explains_and_changes_nothing(pilot: CycleEngine) -> None:
    """A guard that blocks gives its reason and the allowed triggers; the cycle is unchanged."""
    cycle_id = pilot.start_cycle("pilot", "Seed systems", standalone=True).id or 0
    pilot.fire(cycle_id, "submit")
    with pytest.raises(TransitionNotAllowed) as caught:
        pilot.fire(cycle_id, "send_back")
    assert "a note is required" in caught.value.reasons[0]
    assert set(caught.value.allowed) == {"approve", "pause"}
    assert pilot.get_cycle(cycle_id).version == 2
    assert len(pilot.history(cycle_id)) == 2


def test_available_triggers_lists_reasons(pilot: CycleEngine) -> None:
    """available_triggers says which triggers are allowed and why the others are not."""
    cycle_id = pilot.start_cycle("pilot", "Seed systems", standalone=True).id or 0
    pilot.fire(cycle_id, "submit")
    partner = Actor(name="luis", role="partner", organisation_id=1)
    options = {o.trigger: o for o in pilot.available_triggers(cycle_id, actor=partner)}
    assert options["approve"].allowed is False
    assert "only coordinator may fire 'approve'" in options["approve"].reasons[0]
    assert options["pause"].allowed is True
    assert options["send_back"].reasons == ("a note is required for this trigger",)


def test_unknown_trigger_is_specific(pilot: CycleEngine) -> None:
    """A trigger the template lacks, or one that does not apply here, raises UnknownTrigger."""
    cycle_id = pilot.start_cycle("pilot", "Seed systems", standalone=True).id or 0
    with pytest.raises(UnknownTrigger, match="has no trigger 'launch'"):
        pilot.fire(cycle_id, "launch")
    with pytest.raises(UnknownTrigger, match="does not apply in stage 'draft'"):
        pilot.fire(cycle_id, "approve")


def test_role_blocks_partner(pilot: CycleEngine) -> None:
    """A partner without a stage role cannot fire a coordinator's trigger."""
    cycle_id = pilot.start_cycle("pilot", "Seed systems", standalone=True).id or 0
    with pytest.raises(TransitionNotAllowed, match="only coordinator, lead may fire"):
        pilot.fire(cycle_id, "submit", actor=Actor(name="luis", role="partner"))


def test_expected_version_conflict(pilot: CycleEngine) -> None:
    """A stale expected version raises ConflictError and changes nothing."""
    cycle_id = pilot.start_cycle("pilot", "Seed systems", standalone=True).id or 0
    pilot.fire(cycle_id, "submit", expected_version=1)
    with pytest.raises(ConflictError, match="expected version 1, found 2"):
        pilot.fire(cycle_id, "approve", expected_version=1)
    assert pilot.get_cycle(cycle_id).state == "review"


def test_idempotency_key_returns_first_result(pilot: CycleEngine) -> None:
    """Repeating a fire with the same idempotency key returns the first result, writes nothing."""
    cycle_id = pilot.start_cycle("pilot", "Seed systems", standalone=True).id or 0
    first = pilot.fire(cycle_id, "submit", idempotency_key="req-1")
    again = pilot.fire(cycle_id, "submit", idempotency_key="req-1")
    assert again == first
    assert len(pilot.history(cycle_id)) == 2


def test_pause_resume_returns_and_extends_deadline(pilot: CycleEngine, clock: ManualClock) -> None:
    """Resuming returns to the paused stage and moves its deadline by the pause length."""
    cycle_id = pilot.start_cycle("pilot", "Seed systems", standalone=True).id or 0
    pilot.fire(cycle_id, "submit")
    due_before = pilot.cycles.current_stage(cycle_id).due_at  # type: ignore[union-attr]
    pilot.fire(cycle_id, "pause")
    options = {o.trigger: o for o in pilot.available_triggers(cycle_id)}
    assert options["resume"].dest == "review"
    clock.advance(timedelta(days=10))
    assert pilot.fire(cycle_id, "resume").to_state == "review"
    stage = pilot.cycles.current_stage(cycle_id)
    assert stage is not None and stage.visit == 2
    assert stage.due_at == due_before + timedelta(days=10)  # type: ignore[operator]


def test_final_stage_finishes_cycle(pilot: CycleEngine) -> None:
    """Reaching a final stage finishes the cycle and nothing more can fire."""
    cycle_id = pilot.start_cycle("pilot", "Seed systems", standalone=True).id or 0
    pilot.fire(cycle_id, "submit")
    pilot.fire(cycle_id, "approve")
    cycle = pilot.get_cycle(cycle_id)
    assert (cycle.status, cycle.finished_at is not None) == ("finished", True)
    assert pilot.available_triggers(cycle_id) == []
    assert pilot.cycles.list_cycles(CycleFilter(status="finished"))[0].id == cycle_id


def test_running_cycle_stays_on_its_template_version(pilot: CycleEngine) -> None:
    """Publishing a new version does not move cycles started on the old one."""
    old = pilot.start_cycle("pilot", "Old", standalone=True).id or 0
    v2 = pilot.templates.publish(PILOT.replace("P2W", "P3W"), "pilot.yaml")
    assert (v2.version, v2.created) == (2, True)
    assert pilot.templates.publish(PILOT.replace("P2W", "P3W") + "\n# comment\n").created is False
    new = pilot.start_cycle("pilot", "New", standalone=True).id or 0
    assert pilot.get_cycle(old).template_id != pilot.get_cycle(new).template_id
    pilot.fire(old, "submit")
    assert pilot.cycles.current_stage(old).due_at - pilot.cycles.current_stage(
        old
    ).entered_at == timedelta(weeks=2)  # type: ignore[union-attr,operator]


def test_bad_arguments_raise_clear_errors(pilot: CycleEngine) -> None:
    """Unknown ids, empty titles and bad paging are refused by name."""
    with pytest.raises(CycleNotFound):
        pilot.fire(999, "submit")
    with pytest.raises(TemplateNotFound):
        pilot.start_cycle("nope", "x", standalone=True)
    with pytest.raises(InvalidInput, match="title"):
        pilot.start_cycle("pilot", "  ", standalone=True)
    with pytest.raises(InvalidInput, match="limit"):
        pilot.cycles.list_cycles(limit=0)
