"""What the app tells an operator, over real HTTP: every answer carries an X-Request-ID (the
proxy's, or a new one) that problem bodies, the dashboard's error page and the log lines of the
request repeat; /metrics is off without a token and behind it otherwise; its gauges are read
from the database at each scrape, so they follow the engine's clock."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from cycle_engine import CycleEngine
from cycle_engine.api import create_app
from cycle_engine.logs import ContextFilter
from cycle_engine.testing import ManualClock

from .conftest import ServerThread, World, api_settings

TOKEN = "a-metrics-token-0123456789abcdef"


@pytest.fixture
def metered(db_url: str, clock: ManualClock, tmp_path: Path) -> Iterator[ServerThread]:
    """The app with a metrics token, on the test clock."""
    settings = api_settings(db_url, tmp_path, metrics_token=TOKEN)
    with ServerThread(create_app(settings, clock=clock)) as server:
        yield server


def gauges(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def test_request_id_in_header_problem_body_error_page_and_log_lines(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A proxy's X-Request-ID comes back in the header, the problem body and the request's
    log line; without one, the app makes one; the dashboard's error page shows it."""
    caplog.handler.addFilter(ContextFilter())
    caplog.set_level(logging.INFO, logger="cycle_engine")
    with world.client("admin") as client:
        response = client.get("/api/v1/cycles/999999", headers={"X-Request-ID": "proxy-req-00042"})
        assert response.status_code == 404
        assert response.headers["X-Request-ID"] == "proxy-req-00042"
        assert response.json()["request_id"] == "proxy-req-00042"
        made = client.get("/api/v1/cycles/999999", headers={"X-Request-ID": "bad id!"})
        assert made.headers["X-Request-ID"] != "bad id!" and len(made.headers["X-Request-ID"]) == 32
        assert made.json()["request_id"] == made.headers["X-Request-ID"]
        page = client.get("/dashboard/static/no-such-file.css")
        assert page.status_code == 404 and page.headers["X-Request-ID"] in page.text
    lines = [r for r in caplog.records if getattr(r, "request_id", None) == "proxy-req-00042"]
    assert any("/api/v1/cycles/999999" in r.getMessage() for r in lines), caplog.records


def test_metrics_are_off_without_a_token(world: World) -> None:
    """Without CYCLE_ENGINE_METRICS_TOKEN, /metrics answers 404 saying how to turn it on."""
    response = httpx.get(f"{world.url}/metrics")
    assert response.status_code == 404
    assert "CYCLE_ENGINE_METRICS_TOKEN" in response.json()["detail"]


def test_database_gauges_follow_the_clock(
    metered: ServerThread, seed_engine: CycleEngine, clock: ManualClock
) -> None:
    """A cycle past its deadline shows as overdue for its alliance and its due timers as due
    (and late, and old) at the next scrape; once a worker fired them, none is due."""
    alliance = seed_engine.alliances.create_alliance(
        "Gauges", "Soil", working_hours_start=0, working_hours_end=24, weekend_days=""
    )
    assert httpx.get(f"{metered.url}/metrics").status_code == 401
    seed_engine.start_cycle("rapid-cycle", "Soil tests", alliance_id=alliance.id)
    labels = (("alliance", "Gauges"), ("alliance_id", str(alliance.id)))
    first = gauges(metered.url)
    assert first[("cycle_engine_cycles_overdue", labels)] == 0
    assert first[("cycle_engine_database_up", ())] == 1
    clock.advance(timedelta(weeks=2))
    later = gauges(metered.url)
    assert later[("cycle_engine_cycles_overdue", labels)] == 1
    assert later[("cycle_engine_timers_due", ())] >= 3  # entry, reminders, the deadline
    assert later[("cycle_engine_timers_late", ())] >= 1
    assert later[("cycle_engine_timers_oldest_due_age_seconds", ())] >= timedelta(weeks=1).seconds
    seed_engine.run_due_timers(clock.now())
    assert gauges(metered.url)[("cycle_engine_timers_due", ())] == 0
