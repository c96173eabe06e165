"""A host plugin installed as a real distribution (the budget desk's `cycle_engine.plugins` entry
point) reaches every process the engine runs: `template validate`, `cycle fire`, `worker --once`
and `serve` all know the desk's guard and run its listener; without the plugin they do not."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.host_app.conftest import VENV_BIN, HostProject

CLI = str(VENV_BIN / "cycle-engine")
REASON = "the budget desk has not approved this purchase's budget yet"

pytestmark = pytest.mark.process


def audit_rows(database: Path, cycle_id: int) -> list[tuple[str, str | None]]:
    """The desk's audit rows of a cycle: written by its listener, in whichever process ran."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT kind, to_state FROM budget_desk_audit WHERE cycle_id = ? ORDER BY seq",
            (cycle_id,),
        ).fetchall()
    return [(str(kind), to_state) for kind, to_state in rows]


@pytest.fixture
def desk_db(host_project: HostProject, tmp_path: Path) -> str:
    """A database with the engine's schema, the desk's tables and the desk's template."""
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    host_project.run(CLI, "init", "--db", url)
    create = f"from api.budgets import BudgetBook; BudgetBook({url!r}).create_tables()"
    host_project.run(sys.executable, "-c", create)
    template = str(host_project.root / "templates" / "purchase.yaml")
    host_project.run(CLI, "template", "publish", template, "--db", url)
    return url


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(host_project: HostProject, desk_db: str, tmp_path: Path) -> Iterator[str]:
    """`cycle-engine serve` on a free loopback port, with the plugin installed."""
    port = free_port()
    server = subprocess.Popen(
        [
            *(CLI, "serve", "--port", str(port), "--db", desk_db, "--no-worker", "--no-sender"),
            *("--secret-file", str(tmp_path / "secret.key"), "--log-level", "warning"),
        ],
        env=host_project.env,
        cwd=host_project.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.communicate()[0]
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve did not become ready"
            time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.communicate(timeout=30)


def test_template_validate_knows_the_plugins_guard(host_project: HostProject) -> None:
    """`template validate` accepts the desk's template only when the desk's plugin is installed,
    and `CYCLE_ENGINE_PLUGINS` naming a plugin that is not installed is a clear error."""
    template = str(host_project.root / "templates" / "purchase.yaml")
    valid = host_project.run(CLI, "template", "validate", template)
    assert "valid template 'purchase'" in valid.stdout
    alone = host_project.run(CLI, "template", "validate", template, ok=False, plugin=False)
    assert "unknown guard 'budget_approved'" in alone.stderr
    refused = host_project.run(
        CLI, "template", "validate", template, ok=False, CYCLE_ENGINE_PLUGINS="budget_desk,payroll"
    )
    assert "no installed plugin named payroll" in refused.stderr


def test_cli_and_worker_run_the_plugins_guard_and_listener(
    host_project: HostProject, desk_db: str, tmp_path: Path
) -> None:
    """The CLI starts a cycle on the desk's template (the desk's listener audits it), `cycle
    fire` is refused with the guard's reason, and `worker --once` fires the cycle's timers on
    time (a worker without the desk's guard could not load the template to fire them)."""
    db = ("--db", desk_db)
    started = host_project.run(
        CLI, "cycle", "start", "purchase", "Field laptops", "--standalone", *db, "--json"
    )
    cycle_id = int(json.loads(started.stdout)["id"])
    assert audit_rows(tmp_path / "desk.db", cycle_id) == [("started", "request")]

    refused = host_project.run(CLI, "cycle", "fire", str(cycle_id), "order", *db, ok=False)
    assert REASON in refused.stderr

    started_at = datetime.fromisoformat(json.loads(started.stdout)["started_at"])
    for days in (5, 7):  # the reminder two days before the deadline, then the deadline itself
        now = (started_at + timedelta(days=days, minutes=1)).isoformat()
        counts = json.loads(host_project.run(CLI, "worker", "--once", "--now", now, *db).stdout)
        assert counts["fired"] >= 1, counts
        assert (counts["failed"], counts["dropped"]) == (0, 0), counts


def test_serve_answers_409_with_the_plugins_reason(
    host_project: HostProject, desk_db: str, served: str, tmp_path: Path
) -> None:
    """Over the served API, the desk's guard blocks `order` (409 with its reason) until the desk
    approves the budget; then the transition fires and the desk's listener audits it."""
    db = ("--db", desk_db, "--json")
    made = host_project.run(CLI, "alliance", "create", "Budget desk", "--theme", "Equipment", *db)
    key = host_project.run(CLI, "key", "create", "--name", "desk", "--role", "admin", *db)
    headers = {"Authorization": f"Bearer {json.loads(key.stdout)['token']}"}
    purchase = {
        "template_key": "purchase",
        "title": "Field laptops",
        "alliance_id": json.loads(made.stdout)["id"],
    }
    with httpx.Client(base_url=served, headers=headers, timeout=30) as client:
        cycle = client.post("/api/v1/cycles", json=purchase)
        assert cycle.status_code == 201, cycle.text
        cycle_id = cycle.json()["id"]
        order = f"/api/v1/cycles/{cycle_id}/transitions"
        blocked = client.post(order, json={"trigger": "order"})
        assert blocked.status_code == 409
        assert blocked.json()["reasons"] == [REASON]
        approve = f"BudgetBook({desk_db!r}).approve({cycle_id}, 'finance')"
        host_project.run(sys.executable, "-c", f"from api.budgets import BudgetBook; {approve}")
        fired = client.post(order, json={"trigger": "order"})
        assert fired.status_code == 201, fired.text
    assert audit_rows(tmp_path / "desk.db", cycle_id) == [
        ("started", "request"),
        ("transition", "ordering"),
    ]
