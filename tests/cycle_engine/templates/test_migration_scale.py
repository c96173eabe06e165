"""A thousand running cycles move to a new version in one command, with progress reported after
each cycle, on both databases; the time it took is printed (run with -s to see it)."""

from __future__ import annotations

import time

import pytest

from tests.cycle_engine.templates.conftest import COORDINATOR, COPY, World
from tests.cycle_engine.templates.helpers import duration, observed, predicted, stage_after

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
CYCLES = 1000


def test_a_thousand_cycles_migrate_in_one_command_with_progress(world: World) -> None:
    """Every cycle migrates, progress is reported 1000 times in order, and a sample of cycles
    looks exactly as the preview predicted."""
    engine = world.engine
    alliance = world.alliance
    ids = [
        engine.start_cycle(COPY, f"Cycle {n}", alliance_id=alliance, actor=COORDINATOR).id
        for n in range(CYCLES)
    ]
    world.publish(
        duration("question_workshop", "P5W"),
        stage_after("documentation", "sharing", "Sharing", "P2W", leaving="cycle_documented"),
    )
    plan = engine.migrations.create_plan(COPY, alliance_id=alliance, actor=COORDINATOR)
    started = time.monotonic()
    preview = engine.migrations.preview(plan.id, actor=COORDINATOR)
    previewed = time.monotonic() - started
    assert len(preview.migrating) == CYCLES
    progress: list[tuple[int, int]] = []
    report = engine.migrations.apply(
        plan.id, actor=COORDINATOR, progress=lambda done, total: progress.append((done, total))
    )
    backend = engine.db.engine.dialect.name
    print(
        f"\n{CYCLES} cycles on {backend}: preview {previewed:.1f} s, apply {report.seconds:.1f} s"
    )
    assert len(report.migrated) == CYCLES and report.skipped == []
    assert progress == [(n, CYCLES) for n in range(1, CYCLES + 1)]
    by_id = {f.cycle_id: f for f in preview.migrating}
    for cycle_id in (ids[0], ids[CYCLES // 2], ids[-1]):
        assert cycle_id is not None
        assert observed(engine, cycle_id) == predicted(by_id[cycle_id])
