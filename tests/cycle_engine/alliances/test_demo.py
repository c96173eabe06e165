"""The demo seeds the alliance at the scale the method reports, walks a cycle to completion,
leaves other cycles at different stages, and can run twice."""

from __future__ import annotations

import time
from pathlib import Path

from cycle_engine import CycleEngine
from cycle_engine.demo import run_demo


def test_demo_seeds_alliance_walks_cycle_and_is_rerunnable(db_url: str, tmp_path: Path) -> None:
    """19 partners + 57 local organisations, a completed cycle, others in progress; twice."""
    lines: list[str] = []
    started = time.monotonic()
    run_demo(db_url, lines.append, data_dir=tmp_path / "data")
    assert time.monotonic() - started < 15
    assert any(
        "19 partner agencies and 57 local organisations in 4 countries" in line for line in lines
    )
    assert "  documentation -> completed (cycle_documented)" in lines
    assert any(line.startswith("  roles_assigned is blocked: stage") for line in lines)
    with CycleEngine(db_url) as engine:
        alliance = engine.alliances.list_alliances()[0]
        assert len(engine.alliances.alliance_members(alliance.id or 0)) == 76
        states = {c.title: c.state for c in engine.cycles.list_cycles()}
        assert sorted(states.values()) == [
            "completed",
            "prototype",
            "quick_review",
            "role_assignment",
        ]
        walked = next(c for c in engine.cycles.list_cycles() if c.state == "completed")
        report = engine.work.cycle_report(walked.id or 0)
        assert report.complete and len(report.contexts) == 3
        assert engine.work.stages_lacking_focal_point(
            next(c.id or 0 for c in engine.cycles.list_cycles() if c.state == "role_assignment")
        )
    again: list[str] = []
    run_demo(db_url, again.append, data_dir=tmp_path / "data")
    assert again[0].startswith("demo alliance already seeded")
