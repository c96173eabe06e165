"""A real Chromium, driven from the keyboard only (focus, typing, Tab, arrows, Space, Enter;
never a click): a coordinator builds a four-stage template from nothing in the editor, sees a
problem appear beside its field and disappear once fixed (the live check, editor.js), watches
the diagram mark an unreachable stage and then draw it joined, publishes after the preview and
starts a cycle on the new template. Every control has a label; axe-core (bundled in the
`axe-playwright-python` package, injected by the test) finds no violation on the editor and
publish pages; the console stays clean. Screenshots land in test-artifacts/dashboard/."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.dashboard.conftest import DashboardServer, World
from tests.api.dashboard.test_dashboard_browser import CHROMIUM, browser, shot, watch

__all__ = ["browser"]  # the fixture, shared with the dashboard's browser test

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"
    ),
]

UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(e => e.type !== 'hidden')
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
  .map(e => e.name || e.id)"""


def settle(page: Any) -> None:
    """Wait until the live check has answered the last change (editor.js marks the form)."""
    page.wait_for_selector('#editor-form[data-state="idle"]', state="attached")


def press_button(page: Any, name: str) -> None:
    """Focus the button and press Enter: its form is submitted and the next page loads."""
    page.get_by_role("button", name=name, exact=True).focus()
    submit(page)


def submit(page: Any) -> None:
    with page.expect_navigation():
        page.keyboard.press("Enter")


def type_into(page: Any, label: str, text: str, scope: Any = None) -> None:
    field = (scope or page).get_by_label(label, exact=True)
    field.focus()
    page.keyboard.press("Control+A")
    page.keyboard.type(text)


def choose(page: Any, label: str, steps: int, scope: Any = None) -> None:
    """Pick an option of a select with the arrow keys (`steps` down from the first)."""
    field = (scope or page).get_by_label(label, exact=True)
    field.focus()
    page.keyboard.press("Home")
    for _ in range(steps):
        page.keyboard.press("ArrowDown")


def tick(page: Any, group: Any, name: str) -> None:
    group.get_by_role("checkbox", name=name, exact=True).focus()
    page.keyboard.press("Space")


def accessible(page: Any, name: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    assert page.evaluate(UNLABELLED) == [], f"{name}: controls without a label"
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


STAGES = [("plan", "Plan the work", "2", 0), ("build", "Build it", "3", 0)]
STAGES += [("test", "Test it", "2", 0), ("done", "Done", "", 2)]


def focused(page: Any, element_id: str) -> None:
    """Wait until the page has moved the keyboard focus to `element_id` (the editor re-renders
    the form after an added row, then focuses its first field)."""
    page.wait_for_function(
        "id => document.activeElement && document.activeElement.id === id", arg=element_id
    )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_coordinator_designs_publishes_and_starts_a_cycle_with_the_keyboard(
    browser: Any, dashboard: DashboardServer, dashboard_world: World
) -> None:
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    watch(page, errors)
    page.goto(dashboard.link(dashboard_world.coordinator))
    press_button(page, "Sign in")
    a = dashboard_world.alliance_id
    page.goto(f"{dashboard.url}/dashboard/alliances/{a}/templates")
    page.get_by_role("link", name="Design or edit a template in the editor").focus()
    submit(page)
    page.get_by_role("heading", name="Template editor").wait_for()
    type_into(page, "Key of the new template (lowercase, e.g. our-cycle)", "field-pilot")
    submit(page)
    page.get_by_role("heading", name="Edit template field-pilot (draft)").wait_for()
    shot(page, "editor-01-empty")

    for index, (key, title, weeks, kind) in enumerate(STAGES):
        press_button(page, "Add a stage")
        stage = page.get_by_role("group", name=f"Stage {index + 1}", exact=True)
        focused(page, f"stage-{index}-key")
        page.keyboard.type(key)
        page.keyboard.press("Tab")
        page.keyboard.type(title)
        if kind:
            choose(page, "Kind of stage", kind, stage)
        if weeks:
            type_into(page, "Duration", weeks, stage)
        settle(page)
    type_into(page, "Title", "Field pilot")
    choose(page, "First stage", 1)
    settle(page)

    # a problem appears beside its field as it is typed, and goes once fixed
    build = page.get_by_role("group", name="Stage 2: Build it")
    type_into(page, "Duration", "three", build)
    problem = page.locator("#problem-stage-1-duration")
    problem.get_by_text("expected an ISO 8601 duration").wait_for()
    assert page.locator("#publish-button").is_disabled()
    shot(page, "editor-02-problem")
    type_into(page, "Duration", "3", build)
    settle(page)
    assert problem.inner_text() == ""

    # transitions: the diagram marks unreachable stages, then draws them joined
    for index, (trigger, source, dest) in enumerate(
        [("planned", "Plan the work", 2), ("built", "Build it", 3), ("tested", "Test it", 4)]
    ):
        press_button(page, "Add a transition")
        group = page.get_by_role("group", name=f"Transition {index + 1}")
        focused(page, f"transition-{index}-trigger")
        page.keyboard.type(trigger)
        tick(page, group, source)
        choose(page, "To stage", dest, group)
        tick(page, group, "coordinator")
        settle(page)
        if index == 1:
            flagged = page.locator('#diagram [data-stage="done"][data-problem]')
            assert "cannot be reached" in flagged.get_attribute("data-problem")
            shot(page, "editor-03-diagram-marks")
    page.locator("#check-status").get_by_text("No problems").wait_for()
    assert page.locator("#diagram [data-problem]").count() == 0
    assert page.locator("#diagram .node").count() == 4
    assert "to: done" in page.locator("#yaml").input_value()
    accessible(page, "editor")
    shot(page, "editor-04-valid-full")

    press_button(page, "Save and review publishing")
    page.get_by_role("heading", name="Publish field-pilot v1").wait_for()
    accessible(page, "publish")
    shot(page, "editor-05-publish")
    press_button(page, "Publish field-pilot v1")
    page.get_by_text("Published field-pilot v1.").wait_for()
    type_into(page, "Learning topic (the cycle's title)", "Seed fairs in the highlands")
    submit(page)
    page.get_by_role("heading", name="Seed fairs in the highlands").wait_for()
    assert "field-pilot v1" in page.content()
    shot(page, "editor-06-cycle")
    assert errors == []
