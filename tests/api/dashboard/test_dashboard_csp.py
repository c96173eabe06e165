"""The dashboard sends a Content-Security-Policy that its own pages pass: every page carries the
policy, none has an inline script, event handler attribute, style attribute or `javascript:`
URL, and a real Chromium walking the pages (htmx swaps included) reports no violation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cycle_engine.api.dashboard.web import CONTENT_SECURITY_POLICY
from tests.api.dashboard.conftest import DashboardServer, World, sign_in

CHROMIUM = Path("/usr/bin/chromium")
INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|\sstyle\s*=|javascript:", re.IGNORECASE
)
ONE_BACKEND = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _pages(world: World) -> list[str]:
    a, c = world.alliance_id, world.cycle_id
    return [
        f"/dashboard/alliances/{a}",
        f"/dashboard/alliances/{a}/cycles?status=all",
        f"/dashboard/alliances/{a}/stalled",
        f"/dashboard/alliances/{a}/engagement",
        f"/dashboard/alliances/{a}/mail",
        f"/dashboard/cycles/{c}",
        f"/dashboard/cycles/{c}/report",
        "/dashboard/my-steps",
        "/dashboard/cycles/999999",
    ]


@ONE_BACKEND
def test_every_page_carries_the_policy_and_nothing_inline(
    dashboard: DashboardServer, dashboard_world: World
) -> None:
    """Signed out and signed in, each page (errors too) has the policy; only the generated cycle
    report has an inline stylesheet, allowed by its hash; nothing else is inline."""
    anonymous = dashboard.client()
    page = anonymous.get("/dashboard/signin")
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert INLINE.search(page.text) is None
    client = sign_in(dashboard, dashboard_world.coordinator)
    for path in _pages(dashboard_world):
        page = client.get(path)
        assert page.status_code in (200, 404), path
        policy = page.headers["content-security-policy"]
        assert "script-src 'self';" in policy and "unsafe" not in policy, path
        assert INLINE.search(page.text) is None, (path, INLINE.search(page.text))
        if path.endswith("/report"):
            assert "'sha256-" in policy
        else:
            assert policy == CONTENT_SECURITY_POLICY, path
    diagram = client.get(f"/dashboard/cycles/{dashboard_world.cycle_id}/diagram.svg")
    assert "<style" not in diagram.text and INLINE.search(diagram.text) is None


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless=new", "--no-sandbox"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
@ONE_BACKEND
def test_chromium_reports_no_policy_violation(
    browser: Any, dashboard: DashboardServer, dashboard_world: World
) -> None:
    """Chromium walks every page as the coordinator, filters the cycle list and nudges a step
    through htmx; no `securitypolicyviolation` event fires and the console has no error."""
    context = browser.new_context()
    context.add_init_script(
        "window.__violations = [];"
        "document.addEventListener('securitypolicyviolation', e =>"
        " window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    violations: list[str] = []

    def visit(url: str) -> None:
        page.goto(f"{dashboard.url}{url}")
        page.wait_for_load_state("networkidle")
        violations.extend(f"{url}: {v}" for v in page.evaluate("window.__violations"))

    visit("/dashboard/signin")
    page.goto(dashboard.link(dashboard_world.coordinator))
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Alianza Test").wait_for()
    for path in _pages(dashboard_world):
        visit(path)
    visit(f"/dashboard/alliances/{dashboard_world.alliance_id}/cycles")
    page.get_by_label("Status").select_option("all")
    page.wait_for_url("**status=all**")
    violations.extend(page.evaluate("window.__violations"))
    context.close()
    assert violations == []
    assert [e for e in errors if "404" not in e] == []
