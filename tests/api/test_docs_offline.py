"""`/docs` works with no internet: Swagger UI comes from the `swagger-ui-bundle` package, served
by the app itself, with its licence (issue 14: the page was blank offline, loading from a CDN)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.api.conftest import ServerThread

CHROMIUM = Path("/usr/bin/chromium")


def test_docs_page_names_only_the_apps_own_assets(api_server: ServerThread) -> None:
    """Every script, stylesheet and icon the page loads is a path on this server."""
    with api_server.client() as http:
        page = http.get("/docs")
        assert page.status_code == 200
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources, page.text
        assert all(s.startswith("/docs/assets/") for s in sources), sources
        assert "'/openapi.json'" in page.text or '"/openapi.json"' in page.text
        for source in sources:
            asset = http.get(source)
            assert asset.status_code == 200, source
            assert len(asset.content) > 100, source


def test_docs_licence_and_unknown_assets(api_server: ServerThread) -> None:
    """The licence is served beside the files; nothing else of the package folder is."""
    with api_server.client() as http:
        licence = http.get("/docs/assets/LICENSE")
        assert licence.status_code == 200 and "Apache" in licence.text
        assert http.get("/docs/assets/index.html").status_code == 404
        assert http.get("/docs/assets/..%2F__init__.py").status_code == 404


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_docs_render_in_a_browser_with_the_network_cut_off(api_server: ServerThread) -> None:
    """Chromium, with every request off this server refused, shows the API's operations."""
    from playwright.sync_api import Route, sync_playwright

    ours = urlsplit(api_server.url).netloc
    outside: list[str] = []
    errors: list[str] = []

    def only_ours(route: Route) -> None:
        if urlsplit(route.request.url).netloc == ours:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless=new", "--no-sandbox"]
        )
        try:
            page: Any = browser.new_page()
            page.route("**/*", only_ours)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{api_server.url}/docs")
            page.locator(".opblock").first.wait_for(timeout=20_000)
            assert page.locator(".opblock").count() > 20
            assert "Cycle Engine" in page.title()
        finally:
            browser.close()
    assert outside == [] and errors == []
