"""Property: any sequence of triggers keeps a cycle in a declared stage, and replaying its
history through the template's graph gives the stored state."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cycle_engine import CycleEngine, CycleEngineError
from cycle_engine.spec.specs import PREVIOUS
from cycle_engine.testing import ManualClock
from tests.cycle_engine.pilot import PILOT

TRIGGERS = ["submit", "send_back", "approve", "pause", "resume", "cancel", "bogus"]


def _replay(engine: CycleEngine, cycle_id: int) -> str:
    spec = engine.templates.spec("pilot")
    state: str | None = None
    came_from: str | None = None
    for event in engine.history(cycle_id):
        if event.kind == "started":
            state = event.to_state
            continue
        assert event.from_state == state, (
            "history must chain: each move starts where the last ended"
        )
        matches = [t for t in spec.transitions if t.trigger == event.trigger and state in t.sources]
        assert matches, f"{event.trigger} is not declared from {state}"
        dest = matches[0].dest
        if dest == PREVIOUS:
            assert event.to_state == came_from
        else:
            assert event.to_state == dest
        if spec.stage(event.to_state or "").hold:
            came_from = state
        state = event.to_state
    assert state is not None
    return state


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    moves=st.lists(
        st.tuples(st.sampled_from(TRIGGERS), st.sampled_from([None, "because"])), max_size=12
    )
)
def test_random_triggers_keep_declared_state_and_replay(
    sqlite_url: str, moves: list[tuple[str, str | None]]
) -> None:
    """Random triggers (valid or not) never leave a declared stage; history replays exactly."""
    clock = ManualClock()
    with CycleEngine(sqlite_url, clock=clock) as engine:
        engine.templates.publish(PILOT, "pilot.yaml")
        cycle_id = engine.start_cycle("pilot", "Property", standalone=True).id or 0
        declared = {s.key for s in engine.templates.spec("pilot").stages}
        for trigger, note in moves:
            clock.advance(timedelta(hours=1))
            before = engine.get_cycle(cycle_id)
            try:
                engine.fire(cycle_id, trigger, note=note)
            except CycleEngineError:
                assert engine.get_cycle(cycle_id).version == before.version
            cycle = engine.get_cycle(cycle_id)
            assert cycle.state in declared
        assert _replay(engine, cycle_id) == engine.get_cycle(cycle_id).state
        assert len(engine.history(cycle_id)) == engine.get_cycle(cycle_id).version
