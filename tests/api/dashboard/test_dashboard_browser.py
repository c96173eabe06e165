"""A real Chromium walks the dashboard: signs in through an emailed link caught by a real SMTP
server, reads every page, fires a trigger from the form, and sees no console error. Screenshots
land in test-artifacts/dashboard/ (gitignored) for people to look at."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.dashboard.conftest import DashboardServer, Inbox, World, deliver_mail

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "dashboard"
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (.ci/run installs it)",
    ),
]


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def watch(page: Any, errors: list[str]) -> None:
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=name.endswith("full"))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_manager_signs_in_by_email_and_coordinator_moves_a_cycle(
    browser: Any,
    dashboard: DashboardServer,
    dashboard_world: World,
    smtp: tuple[Inbox, int],
) -> None:
    """Sign in by emailed link, walk the pages, fire a trigger from the form, no console errors."""
    inbox, port = smtp
    errors: list[str] = []
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, timezone_id="America/Guatemala"
    )
    page = context.new_page()
    watch(page, errors)
    page.goto(f"{dashboard.url}/dashboard/")
    assert page.url.endswith("/dashboard/signin?next=%2Fdashboard%2F")
    page.get_by_label("Email address").fill(dashboard_world.manager)
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.get_by_text("is on its way").wait_for()
    shot(page, "01-signin-sent")
    deliver_mail(dashboard, port)
    [link] = inbox.links()
    page.goto(link)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Alianza Test").wait_for()
    assert page.get_by_text("your role: manager").is_visible()
    shot(page, "02-overview")
    page.get_by_role("link", name="Cycles", exact=True).click()
    page.get_by_role("link", name="Community seed systems").wait_for()
    page.get_by_label("Status").select_option("all")
    page.wait_for_url("**status=all**")
    shot(page, "03-cycle-list")
    page.get_by_role("link", name="Community seed systems").click()
    page.get_by_role("heading", name="State diagram").wait_for()
    assert page.locator('svg g[aria-current="step"][data-stage="question_workshop"]').count() == 1
    shot(page, "04-cycle-manager-full")
    for name in ("Stalled steps", "Partner engagement", "Mail log"):
        page.get_by_role("link", name=name, exact=True).first.click()
        page.get_by_role("heading", name=name).wait_for()
    shot(page, "05-mail-log")
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in").wait_for()
    context.close()

    coordinator = browser.new_context(
        viewport={"width": 390, "height": 844}, timezone_id="America/Guatemala", is_mobile=True
    )
    phone = coordinator.new_page()
    watch(phone, errors)
    phone.goto(dashboard.link(dashboard_world.coordinator))
    phone.get_by_role("button", name="Sign in").click()
    phone.get_by_role("heading", name="Alianza Test").wait_for()
    phone.goto(f"{dashboard.url}/dashboard/cycles/{dashboard_world.cycle_id}")
    shot(phone, "06-cycle-phone")
    phone.get_by_label("Note for “Questions agreed”").fill("Agreed in the March workshop")
    phone.locator('button[data-trigger="questions_agreed"]').click()
    phone.get_by_text("Fired “Questions agreed”.").wait_for()
    assert phone.locator('svg g[aria-current="step"][data-stage="role_assignment"]').count() == 1
    assert phone.get_by_text("Agreed in the March workshop").first.is_visible()
    shot(phone, "07-cycle-after-fire-phone-full")
    coordinator.close()
    assert errors == []
