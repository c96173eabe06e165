"""The alliance learning report page (issue 12): every member of the alliance reads it and its
downloads, including a partner with no role on any cycle; another alliance's people get 404."""

from __future__ import annotations

from tests.api.dashboard.conftest import DashboardServer, World, sign_in


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
