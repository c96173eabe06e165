"""The alliance learning report page (issue 12): every member of the alliance reads it and its
downloads, including a partner with no role on any cycle; another alliance's people get 404."""

from __future__ import annotations

import re

from cycle_engine import CycleEngine
from tests.api.dashboard.conftest import DashboardServer, World, csrf_of, sign_in


def test_member_reads_the_learning_report_and_outsider_does_not(
    dashboard: DashboardServer, dashboard_world: World
) -> None:
    """The page shows Table 1 and the cycle map; Markdown and HTML downloads match."""
    alliance = dashboard_world.alliance_id
    client = sign_in(dashboard, dashboard_world.partner)
    page = client.get(f"/dashboard/alliances/{alliance}/learning")
    assert page.status_code == 200, page.text
    assert "Table 1: the alliance" in page.text
    assert "Community seed systems" in page.text
    assert 'aria-current="page">Learning report' in page.text
    markdown = client.get(f"/dashboard/alliances/{alliance}/learning.md")
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert "# Alianza Test: alliance learning report" in markdown.text
    html = client.get(f"/dashboard/alliances/{alliance}/learning.html")
    assert "<h1>Alianza Test: alliance learning report</h1>" in html.text
    outsider = sign_in(dashboard, dashboard_world.outsider)
    for tail in ("learning", "learning.md", "learning.html"):
        assert outsider.get(f"/dashboard/alliances/{alliance}/{tail}").status_code == 404, tail


def test_partner_proposes_its_level_and_coordinator_confirms_on_the_levels_page(
    dashboard: DashboardServer, dashboard_world: World, db_url: str
) -> None:
    """The partner's proposal is for its own organisation; the coordinator's confirmation
    assigns the level; both show in the history on the page."""
    cycle = dashboard_world.cycle_id
    partner = sign_in(dashboard, dashboard_world.partner)
    page = partner.get(f"/dashboard/cycles/{cycle}/levels")
    assert page.status_code == 200, page.text
    proposed = partner.post(
        f"/dashboard/cycles/{cycle}/levels/propose",
        data={"csrf_token": csrf_of(page.text), "stage": "prototype", "level": "active"},
    )
    assert proposed.status_code == 303, proposed.text
    coordinator = sign_in(dashboard, dashboard_world.coordinator)
    page = coordinator.get(f"/dashboard/cycles/{cycle}/levels")
    match = re.search(r'/levels/(\d+)/decide"', page.text)
    assert match, page.text
    decided = coordinator.post(
        f"/dashboard/cycles/{cycle}/levels/{match.group(1)}/decide",
        data={"csrf_token": csrf_of(page.text), "level": ""},
    )
    assert decided.status_code == 303, decided.text
    after = coordinator.get(decided.headers["location"]).text
    assert "confirmed by person:ana@ngo.example.org" in after
    assert "Farmers&#39; Union (active)" in after or "Farmers' Union (active)" in after
    with CycleEngine(db_url) as engine:
        levels = {(p.stage, p.organisation_id): p.level for p in engine.work.participants(cycle)}
    assert levels[("prototype", dashboard_world.partner_org)] == "active"
