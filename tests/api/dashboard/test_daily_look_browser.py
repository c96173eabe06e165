"""A real Chromium reads the manager's daily look (issue 14): the overview, the stalled page
and a cycle page say who must act, by when and why, in one time zone, with no console error.
Screenshots land in test-artifacts/dashboard/ (gitignored) for people to look at."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from cycle_engine import CycleEngine
from cycle_engine.store.tables.alliances import PersonRecord
from cycle_engine.testing import ManualClock
from tests.api.dashboard.conftest import DashboardServer, World
from tests.api.dashboard.test_dashboard_browser import CHROMIUM, browser, shot, watch

__all__ = ["browser"]  # the fixture, shared with the other browser walk

ZONE_WORDS = r"\b(UTC|GMT|CST|CDT|EST|EAT|CET|JST)\b"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]


def _strand_the_cycle(db_url: str, clock: ManualClock, partner: str) -> None:
    """The focal point of the stage's lead leaves, and a month of scheduler rounds pass."""
    with CycleEngine(db_url, clock=clock) as engine:
        with engine.db.read_session() as session:
            person = session.exec(select(PersonRecord).where(PersonRecord.email == partner)).one()
        engine.alliances.person_left(person.id or 0)
        for _ in range(6):
            clock.advance(timedelta(days=5))
            engine.run_due_timers()


def _one_zone(page: Any) -> None:
    """No time on the page names a zone of its own; the header names the viewer's, once."""
    body = page.inner_text("main")
    assert re.search(ZONE_WORDS, body) is None, re.search(ZONE_WORDS, body)
    assert page.locator("text=times in America/Guatemala").count() == 1
    times = page.eval_on_selector_all("main time", "els => els.map(e => e.textContent)")
    assert times and all(re.fullmatch(r"\d\d \w{3} \d{4}( \d\d:\d\d)?", t) for t in times), times


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_daily_look_says_who_must_act_in_one_time_zone(
    browser: Any,
    dashboard: DashboardServer,
    dashboard_world: World,
    clock: ManualClock,
    db_url: str,
) -> None:
    """The stuck cycle's blocker, the coordinator who must act (organisation, country), the
    person who left (marked) and the follow-up link, on all three pages; times in the
    viewer's zone only, whatever the browser's; the scheduler's entries folded."""
    _strand_the_cycle(db_url, clock, dashboard_world.partner)
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="Asia/Tokyo")
    page = context.new_page()
    watch(page, errors)
    page.goto(dashboard.link(dashboard_world.coordinator))
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Alianza Test").wait_for()
    who = "Who must act: Ana Coordina (coordinator, Coordinating NGO, Guatemala)"
    stuck = page.locator(f"#stuck-{dashboard_world.cycle_id}")
    assert "Community seed systems" in stuck.inner_text()
    assert "Farmers' Union's focal point Paula Partner left on" in stuck.inner_text()
    assert who in re.sub(r"\s+", " ", stuck.inner_text())
    assert stuck.locator(".left-mark").inner_text().startswith("Paula Partner (left")
    _one_zone(page)
    shot(page, "daily-01-overview-full")

    page.goto(f"{dashboard.url}/dashboard/alliances/{dashboard_world.alliance_id}/stalled")
    row = page.locator(f"#stalled-{dashboard_world.cycle_id}")
    assert who in re.sub(r"\s+", " ", row.inner_text())
    assert row.get_by_role("link", name="Name a new focal point").count() == 1
    _one_zone(page)
    shot(page, "daily-02-stalled-full")

    row.get_by_role("link", name="Name a new focal point").click()
    page.wait_for_url(f"**/dashboard/cycles/{dashboard_world.cycle_id}#roles-h")
    assert "Paula Partner (left)" in page.locator("table.matrix").inner_text()
    assert who in re.sub(r"\s+", " ", page.locator(".who-must-act").inner_text())
    folded = page.locator("#system-events")
    assert not folded.locator("ol").is_visible()
    folded.locator("summary").click()
    assert folded.locator("ol li").count() >= 2 and folded.locator("ol").is_visible()
    assert "scheduler" not in page.locator("#people-events").inner_text()
    _one_zone(page)
    shot(page, "daily-03-cycle-full")
    context.close()
    assert errors == []
