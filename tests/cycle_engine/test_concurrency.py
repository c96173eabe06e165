"""Two processes fire on the same cycle at the same moment: exactly one wins, on both stores."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from cycle_engine import CycleEngine
from tests.cycle_engine.pilot import PILOT

pytestmark = pytest.mark.process

CHILD = textwrap.dedent(
    """
    import sys
    from cycle_engine import CycleEngine, CycleEngineError
    url, cycle_id, expected = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with CycleEngine(url) as engine:
        print("ready", flush=True)
        sys.stdin.readline()
        try:
            version = int(expected) if expected != "none" else None
            result = engine.fire(cycle_id, "submit", expected_version=version)
            print("won", result.version, flush=True)
        except CycleEngineError as error:
            print("lost", type(error).__name__, flush=True)
    """
)


@pytest.mark.parametrize("expected", ["1", "none"], ids=["expected-version", "no-version"])
def test_exactly_one_of_two_processes_wins(engine: CycleEngine, db_url: str, expected: str) -> None:
    """Two processes racing the same trigger: one moves the cycle, the other gets a clear error."""
    engine.templates.publish(PILOT, "pilot.yaml")
    cycle_id = engine.start_cycle("pilot", "Race", standalone=True).id or 0
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, db_url, str(cycle_id), expected],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for child in children:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    outcomes = sorted(child.communicate(timeout=60)[0].strip() for child in children)
    assert outcomes[0].startswith("lost"), outcomes
    assert outcomes[1] == "won 2", outcomes
    assert engine.get_cycle(cycle_id).state == "review"
    assert [e.kind for e in engine.history(cycle_id)] == ["started", "transition"]
