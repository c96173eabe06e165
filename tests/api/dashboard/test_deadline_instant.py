"""At its deadline instant a stage is overdue (`due_at <= now`, the instant the scheduler's
overdue timer falls due), and every view agrees: the API's list and report, the dashboard's list
and overview, and `engine.overdue()`. A regression test for the API's list, which once used `<`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from cycle_engine import CycleEngine
from cycle_engine.testing import ManualClock
from tests.api.dashboard.conftest import DashboardServer, World, sign_in


def _views(
    api: httpx.Client,
    browser: httpx.Client,
    dashboard_world: World,
    db_url: str,
    clock: ManualClock,
) -> dict[str, bool]:
    """Whether each view calls the world's cycle overdue now."""
    cycle = dashboard_world.cycle_id
    overdue = api.get("/api/v1/cycles", params={"overdue": True}).json()["items"]
    on_time = api.get("/api/v1/cycles", params={"overdue": False}).json()["items"]
    report = api.get("/api/v1/reports/overdue").json()["items"]
    listed = browser.get(
        f"/dashboard/alliances/{dashboard_world.alliance_id}/cycles", params={"flag": "overdue"}
    )
    overview = browser.get(f"/dashboard/alliances/{dashboard_world.alliance_id}")
    assert listed.status_code == overview.status_code == 200
    with CycleEngine(db_url, clock=clock) as engine:
        scheduler = engine.overdue(dashboard_world.alliance_id)
    return {
        "api list": cycle in {c["id"] for c in overdue},
        "api list, not overdue": cycle not in {c["id"] for c in on_time},
        "api report": cycle in {r["cycle_id"] for r in report},
        "dashboard list": "Community seed systems" in listed.text,
        "dashboard overview": 'flag=overdue">1</a>' in overview.text,
        "engine.overdue()": cycle in {s.cycle_id for s in scheduler},
    }


def test_stage_due_exactly_now_is_overdue_everywhere(
    dashboard: DashboardServer, dashboard_world: World, db_url: str, clock: ManualClock
) -> None:
    """One microsecond before its deadline no view calls the stage overdue; at the deadline
    instant itself every view does (and the report says it is 0 seconds overdue)."""
    with CycleEngine(db_url, clock=clock) as engine:
        stage = engine.cycles.current_stage(dashboard_world.cycle_id)
        assert stage is not None and stage.due_at is not None
        due: datetime = stage.due_at
        token = engine.alliances.credentials.create_key(
            name="deadline", role="coordinator", alliance_id=dashboard_world.alliance_id
        ).token
    api = dashboard.client(headers={"Authorization": f"Bearer {token}"})
    clock.set(due - timedelta(microseconds=1))
    browser = sign_in(dashboard, dashboard_world.manager)
    before = _views(api, browser, dashboard_world, db_url, clock)
    assert not any(before.values()), before
    clock.set(due)
    at = _views(api, browser, dashboard_world, db_url, clock)
    assert all(at.values()), at
    [row] = api.get("/api/v1/reports/overdue").json()["items"]
    assert row["overdue_seconds"] == 0
