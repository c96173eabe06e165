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
            "question_workshop",
            "quick_review",
            "role_assignment",
        ]
        _check_learning_story(engine, alliance.id or 0)
        walked = next(c for c in engine.cycles.list_cycles() if c.state == "completed")
        report = engine.work.cycle_report(walked.id or 0)
        assert report.complete and len(report.contexts) == 3
        _check_contexts_follow_the_rule(engine, walked.id or 0)
        assert engine.work.stages_lacking_focal_point(
            next(c.id or 0 for c in engine.cycles.list_cycles() if c.state == "role_assignment")
        )
    again: list[str] = []
    run_demo(db_url, again.append, data_dir=tmp_path / "data")
    assert again[0].startswith("demo alliance already seeded")


def _check_contexts_follow_the_rule(engine: CycleEngine, cycle_id: int) -> None:
    """The walked cycle's contexts are three distinct communities, each run by an organisation
    leading or taking active part in multi-context testing (the template's rule)."""
    contexts = engine.work.testing_contexts(cycle_id)
    testing = {
        p.organisation_id: p.level
        for p in engine.work.participants(cycle_id)
        if p.stage == "multi_context_testing"
    }
    assert len({(c.community, c.country) for c in contexts}) == 3
    assert all(testing.get(c.organisation_id) in ("lead", "active") for c in contexts)


def _check_learning_story(engine: CycleEngine, alliance_id: int) -> None:
    """The seed's scale (19 agencies, 57 local organisations, 4 countries, 5 cycles), a finished
    cycle that fed a follow-on, questions answered, advanced and carried forward, an organisation
    that left, and the Table 1 indicator equal to a count of the adoption rows."""
    report = engine.learning.alliance_report(alliance_id)
    shape = report.shape
    assert (shape.agencies, shape.local_organisations, shape.countries) == (19, 57, 4)
    assert len(report.cycles) == 5
    walked = next(c for c in report.cycles if c.status == "finished")
    follow_on = next(c for c in report.cycles if c.fed_by)
    assert (walked.fed, follow_on.fed_by) == ((follow_on.cycle_id,), (walked.cycle_id,))
    statuses = [s.status for s in engine.learning.question_states(walked.cycle_id)]
    assert statuses == ["answered", "advanced", "carried_forward", "carried_forward"]
    assert len(engine.learning.question_states(follow_on.cycle_id)) == 3
    members = {m.organisation.id: m for m in engine.alliances.alliance_members(alliance_id)}
    adoptions = engine.learning.adoptions(alliance_id)
    local = {a.organisation_id for a in adoptions if members[a.organisation_id].works_with_id}
    agencies = {a.organisation_id for a in adoptions} - local
    countries = {a.country for a in adoptions}
    spread = report.adoption.spread
    assert (spread.agencies, spread.local_organisations, spread.countries) == (
        len(agencies),
        len(local),
        len(countries),
    )
    assert (len(agencies), len(local), len(countries)) == (10, 25, 4)
    assert [len(row.entries) for row in report.table1] == [1, 1, 1]
    assert {o.kind for o in report.outcomes} == {
        "practice_change",
        "development_intervention",
        "policy_dialogue",
    }
    assert [o.title for o in report.research_needs] == ["Price series for local markets"]
    assert len(report.departures) == 1
    assert engine.learning.organisation_turnover(alliance_id).left == 1
