"""The templates pages over real HTTP: a coordinator copies the learning cycle into the
alliance, reads what the new version changes, previews moving the running cycle (a table, then a
confirm button), applies it and sees the new version on the cycle page; the manager reads but
may not act, and another alliance's coordinator finds nothing."""

from __future__ import annotations

import re

from cycle_engine import Actor, CycleEngine
from tests.api.dashboard.conftest import DashboardServer, World, csrf_of, sign_in
from tests.cycle_engine.templates.conftest import LEARNING_CYCLE
from tests.cycle_engine.templates.helpers import duration, edited, stage_after

OURS = "alianza-cycle"


def publish_v2(server: DashboardServer, alliance_id: int) -> None:
    """The changed version, published as the README says (CLI or API; here the library)."""
    text = edited(
        LEARNING_CYCLE,
        duration("question_workshop", "P5W"),
        stage_after("documentation", "sharing", "Sharing", "P2W", leaving="cycle_documented"),
        key=OURS,
    )
    with CycleEngine(server.settings.database_url, clock=server.clock) as engine:
        engine.templates.publish(
            text, alliance_id=alliance_id, actor=Actor(name="Ana", role="coordinator")
        )


def test_coordinator_previews_then_confirms_a_migration(
    dashboard: DashboardServer, dashboard_world: World
) -> None:
    """Copy, diff, preview (nothing changes), confirm, and the cycle shows its new version."""
    a, cycle_id = dashboard_world.alliance_id, dashboard_world.cycle_id
    client = sign_in(dashboard, dashboard_world.coordinator)
    page = client.get(f"/dashboard/alliances/{a}/templates")
    assert page.status_code == 200 and 'id="template-learning-cycle"' in page.text
    copied = client.post(
        f"/dashboard/alliances/{a}/templates/copy",
        data={"csrf_token": csrf_of(page.text), "key": "learning-cycle", "new_key": OURS},
    )
    assert copied.status_code == 303
    publish_v2(dashboard, a)
    diff = client.get(f"/dashboard/alliances/{a}/templates/{OURS}/diff?from=1&to=2")
    assert "“Question workshop” now lasts 5 weeks (was 3 weeks)." in diff.text
    page = client.get(f"/dashboard/alliances/{a}/templates")
    preview = client.post(
        f"/dashboard/alliances/{a}/migrations",
        data={
            "csrf_token": csrf_of(page.text),
            "key": OURS,
            "from_key": "learning-cycle",
            "unentered": "replan",
            "stage_map": "",
        },
    )
    assert preview.status_code == 200, preview.text
    assert "Nothing has changed yet. 1 cycle would move" in preview.text
    row = re.search(rf'<tr id="cycle-{cycle_id}">(.*?)</tr>', preview.text, re.S)
    assert row is not None
    assert "deadline of Question workshop" in row.group(1) and "America/Guatemala" in row.group(1)
    assert "deadline of Sharing: new:" in row.group(1)
    assert "(learning-cycle v1)" in client.get(f"/dashboard/cycles/{cycle_id}").text
    action = re.search(r'action="([^"]+/apply)"', preview.text)
    assert action is not None
    applied = client.post(action.group(1), data={"csrf_token": csrf_of(preview.text)})
    assert applied.status_code == 303
    report = client.get(applied.headers["location"])
    assert "Migrated 1 cycle to alianza-cycle v2." in report.text
    assert f"({OURS} v2)" in client.get(f"/dashboard/cycles/{cycle_id}").text


def test_manager_reads_and_outsider_finds_nothing(
    dashboard: DashboardServer, dashboard_world: World
) -> None:
    """The manager sees the templates but no forms, and planning is refused (403); another
    alliance's coordinator gets 404 for the page and for the forms."""
    a = dashboard_world.alliance_id
    manager = sign_in(dashboard, dashboard_world.manager)
    page = manager.get(f"/dashboard/alliances/{a}/templates")
    assert page.status_code == 200 and "Move running cycles" not in page.text
    refused = manager.post(
        f"/dashboard/alliances/{a}/migrations",
        data={"csrf_token": csrf_of(page.text), "key": "learning-cycle"},
    )
    assert refused.status_code == 403
    outsider = sign_in(dashboard, dashboard_world.outsider)
    own = outsider.get(f"/dashboard/alliances/{dashboard_world.other_alliance_id}/templates")
    assert outsider.get(f"/dashboard/alliances/{a}/templates").status_code == 404
    attempt = outsider.post(
        f"/dashboard/alliances/{a}/migrations",
        data={"csrf_token": csrf_of(own.text), "key": "learning-cycle"},
    )
    assert attempt.status_code == 404
