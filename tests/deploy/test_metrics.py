"""Each process exports its metrics and they move as work happens: `serve` at /metrics behind the
token (fires per template and trigger, blocked fires per reason, latency per route, database
gauges), `worker --metrics-port` (timers claimed and fired, the events they commit) and
`mail send --forever --metrics-port` (deliveries per channel, SMTP reply classes, outbox
gauges), all real processes on one database with a real SMTP server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cycle_engine import CycleEngine
from cycle_engine.actors import Actor
from cycle_engine.testing import WorldBuilder

from .processes import (
    METRICS_TOKEN,
    Process,
    scrape,
    settings_env,
    smtp_env,
    smtp_server,
    start,
    start_serve,
    value,
    wait_until,
)

pytestmark = pytest.mark.process

TRANSITIONS = "/api/v1/cycles/{cycle_id}/transitions"


@pytest.fixture
def world(db_url: str) -> dict[str, object]:
    """An alliance working around the clock, a cycle whose lead has a focal point, a key."""
    with CycleEngine(db_url) as engine:
        engine.publish_builtin_templates()
        build = WorldBuilder(engine, actor=Actor(name="cora", role="coordinator"))
        build.alliance(
            "alliance",
            "Metrics alliance",
            "Seeds",
            working_hours_start=0,
            working_hours_end=24,
            weekend_days="",
        )
        build.organisation(
            "research", "Research Centre", "research", "Peru", member_of=["alliance"]
        )
        build.person("ana", "Ana", "ana@research.example.org", "research")
        build.cycle("cycle", "learning-cycle", "Seed systems", "alliance", questions=["Which?"])
        build.role("cycle", "question_workshop", "research", "lead", focal_point="ana")
        token = build.key("admin", "admin")
        return {"cycle": build.ids["cycle"], "token": token}


@pytest.fixture
def processes(
    db_url: str, tmp_path: Path, world: dict[str, object]
) -> Iterator[dict[str, Process]]:
    with smtp_server() as (smtp, port):
        env = settings_env(db_url, tmp_path / "data", **smtp_env(port))
        running: dict[str, Process] = {}
        try:
            running["serve"] = start_serve("serve", env, tmp_path)
            running["worker"] = start(
                "worker", ["worker", "--interval", "0.5", "--metrics-port", "0"], env, tmp_path
            )
            running["sender"] = start(
                "sender",
                ["mail", "send", "--forever", "--interval", "0.2", "--metrics-port", "0"],
                env,
                tmp_path,
            )
            running["smtp"] = smtp  # type: ignore[assignment]
            yield running
        finally:
            for process in running.values():
                if isinstance(process, Process):
                    process.stop()


def test_each_process_exports_counters_that_move_with_the_work(
    processes: dict[str, Process], world: dict[str, object]
) -> None:
    """The worker fires the kickoff reminder, the sender delivers its email (250), and fires
    through the API count per trigger and per refusal; each process's /metrics says so."""
    serve, worker, sender = processes["serve"], processes["worker"], processes["sender"]
    serve_metrics = f"{serve.url}/metrics"
    assert httpx.get(serve_metrics).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert httpx.get(serve_metrics, headers=wrong).status_code == 401
    assert httpx.get(worker.metrics_url()).status_code == 401  # the token guards the ports too

    wait_until(
        lambda: (
            value(
                scrape(worker.metrics_url()),
                "cycle_engine_timers_fired_total",
                kind="reminder",
                outcome="fired",
            )
            >= 1
        ),
        30,
        "the worker to fire the kickoff reminder",
    )
    worker_samples = scrape(worker.metrics_url())
    assert value(worker_samples, "cycle_engine_timers_claimed_total") >= 1
    assert value(worker_samples, "cycle_engine_events_total", kind="reminder_due") >= 1
    assert ("cycle_engine_timers_due", frozenset()) in worker_samples  # its gauges, from the db
    assert value(worker_samples, "cycle_engine_process_info", role="worker") == 1

    wait_until(
        lambda: (
            value(
                scrape(sender.metrics_url()),
                "cycle_engine_outbox_deliveries_total",
                channel="email",
                outcome="delivered",
            )
            >= 1
        ),
        30,
        "the sender to deliver the kickoff email",
    )
    sender_samples = scrape(sender.metrics_url())
    assert value(sender_samples, "cycle_engine_smtp_replies_total", reply_class="2xx") >= 1
    assert (
        value(sender_samples, "cycle_engine_outbox_messages", channel="email", status="sent") >= 1
    )
    assert processes["smtp"].received  # type: ignore[attr-defined]

    before = scrape(serve_metrics)
    headers = {"Authorization": f"Bearer {world['token']}"}
    with httpx.Client(base_url=serve.url, headers=headers, timeout=30) as api:
        fire = f"/api/v1/cycles/{world['cycle']}/transitions"
        assert api.post(fire, json={"trigger": "cancel"}).status_code == 409  # needs a note
        assert api.post(fire, json={"trigger": "no_such_trigger"}).status_code == 409
        assert api.post(fire, json={"trigger": "pause", "note": "rainy"}).status_code == 201
    after = scrape(serve_metrics)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("cycle_engine_fires_total", template="learning-cycle", trigger="pause") == 1
    assert moved("cycle_engine_fires_blocked_total", reason="guard") == 1
    assert moved("cycle_engine_fires_blocked_total", reason="unknown_trigger") == 1
    latency = "cycle_engine_http_request_duration_seconds_count"
    assert moved(latency, method="POST", route=TRANSITIONS, status="4xx") == 2
    assert moved(latency, method="POST", route=TRANSITIONS, status="2xx") == 1
    assert value(after, "cycle_engine_outbox_messages", channel="email", status="sent") >= 1
    assert value(after, "cycle_engine_cycles_overdue", alliance="Metrics alliance") == 0
    assert value(after, "cycle_engine_database_up") == 1
    assert METRICS_TOKEN not in serve.output() + worker.output() + sender.output()
