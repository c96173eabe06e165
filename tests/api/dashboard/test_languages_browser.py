"""A real Chromium with a Spanish (Guatemala) locale signs in a Spanish-speaking coordinator and
reads the alliance overview in Spanish, then switches it to French with the language links; no
console error. Screenshots land in test-artifacts/dashboard/ (gitignored)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.dashboard.conftest import DashboardServer, World
from tests.api.dashboard.test_dashboard_browser import CHROMIUM, browser, shot, watch
from tests.api.dashboard.test_dashboard_languages import speak

__all__ = ["browser"]  # the fixture, shared with the other browser walk

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (.ci/run installs it)",
    ),
]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_spanish_overview_and_the_language_switch_in_chromium(
    browser: Any, dashboard: DashboardServer, dashboard_world: World, db_url: str
) -> None:
    """The sign-in confirmation follows the browser (es-GT), the overview the coordinator's
    Spanish (and the cycle page), and the "Français" link turns the page French; no console
    errors."""
    speak(db_url, dashboard_world.coordinator, "es")
    errors: list[str] = []
    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        locale="es-GT",
        timezone_id="America/Guatemala",
    )
    page = context.new_page()
    watch(page, errors)
    page.goto(dashboard.link(dashboard_world.coordinator))
    assert page.get_attribute("html", "lang") == "es"
    page.get_by_role("button", name="Entrar").click()
    page.goto(f"{dashboard.url}/dashboard/alliances/{dashboard_world.alliance_id}")
    assert page.get_attribute("html", "lang") == "es"
    assert page.get_by_role(
        "heading", name="Ciclos detenidos: quién debe actuar, para cuándo y por qué"
    ).is_visible()
    assert page.get_by_role("link", name="Pasos estancados").first.is_visible()
    assert page.get_by_role("button", name="Salir").is_visible()
    shot(page, "21-overview-es")
    page.goto(f"{dashboard.url}/dashboard/cycles/{dashboard_world.cycle_id}")
    assert page.get_by_role("heading", name="Avanzar el ciclo").is_visible()
    shot(page, "23-cycle-es-full")
    page.goto(f"{dashboard.url}/dashboard/alliances/{dashboard_world.alliance_id}")
    page.get_by_role("navigation", name="Idioma").get_by_role("link", name="Français").click()
    page.wait_for_load_state()
    assert page.get_attribute("html", "lang") == "fr"
    assert page.get_by_role("button", name="Se déconnecter").is_visible()
    shot(page, "22-overview-fr")
    context.close()
    assert errors == []
