"""`serve` sends mail from a child process of its own (`notifications.process`): each message
arrives once, its deliveries count in serve's /metrics, a child that dies is replaced, and the
child ends with serve, whether serve is stopped or killed. Real processes, a real SMTP server on
loopback, SQLite and PostgreSQL."""

from __future__ import annotations

import os
import re
import signal
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from cycle_engine import CycleEngine
from cycle_engine.actors import Actor
from cycle_engine.outbox.enqueue import new_message_id
from cycle_engine.store.tables.outbox import OutboxRecord
from cycle_engine.testing import WorldBuilder

from .processes import (
    METRICS_TOKEN,
    Process,
    RecordingHandler,
    free_port,
    scrape,
    settings_env,
    smtp_env,
    smtp_server,
    start,
    value,
    wait_until,
)

pytestmark = pytest.mark.process


def add_reminders(db_url: str, people: dict[str, tuple[int, str]], batch: str) -> list[str]:
    """A due reminder to each person (one row each, none superseding another); their
    Message-IDs."""
    now = datetime.now(UTC)
    ids = []
    with CycleEngine(db_url) as engine, engine.db.transaction() as session:
        for key, (person_id, address) in people.items():
            message_id = new_message_id()
            ids.append(message_id)
            session.add(
                OutboxRecord(
                    kind="reminder",
                    person_id=person_id,
                    recipient=address,
                    dedupe_key=f"serve-sender:{batch}:{key}",
                    message_id=message_id,
                    not_before=now,
                    next_attempt_at=now,
                    created_at=now,
                    context={
                        "person": {"id": person_id, "name": key},
                        "organisation": {"name": "Research Centre"},
                        "alliance": {"name": "Sender alliance"},
                        "timezone": "UTC",
                        "role": "lead",
                        "actions": ["acknowledge", "done"],
                        "cycle": {"id": 1, "title": "Seed systems"},
                        "stage": {
                            "key": "work_plan",
                            "title": "Work plan",
                            "description": "Plan it.",
                            "visit": 1,
                            "visit_id": 1,
                            "due_at": now.isoformat(),
                            "entered_at": now.isoformat(),
                        },
                        "details": {"rule": "week_before"},
                    },
                )
            )
    return ids


@pytest.fixture
def people(db_url: str) -> dict[str, tuple[int, str]]:
    with CycleEngine(db_url) as engine:
        build = WorldBuilder(engine, actor=Actor(name="cora", role="coordinator"))
        build.alliance("alliance", "Sender alliance", "Seeds")
        build.organisation("org", "Research Centre", "research", "Peru", member_of=["alliance"])
        found = {}
        for n in range(6):
            key = f"partner{n}"
            build.person(key, f"Partner {n}", f"{key}@research.example.org", "org")
            found[key] = (build.ids[key], f"{key}@research.example.org")
        return found


def start_serve_with_sender(env: dict[str, str], logs: Path) -> Process:
    port = free_port()
    process = start("serve", ["serve", "--port", str(port), "--no-worker"], env, logs)
    process.url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if process.popen.poll() is not None:
            raise AssertionError(f"serve exited:\n{process.output()[-3000:]}")
        try:
            return httpx.get(f"{process.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(answers, 60, "serve to answer")
    except BaseException:
        process.stop()  # and with it the sender it started
        raise
    return process


def sender_pids(process: Process) -> list[int]:
    """The sender processes serve said it started, in order."""
    return [
        int(pid) for pid in re.findall(r"outbox sender process (\d+) started", process.output())
    ]


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting for its parent to read its status does not)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def copies(smtp: RecordingHandler, ids: list[str]) -> list[int]:
    """How many copies of each message the server accepted."""
    with smtp.lock:
        return [smtp.received[message_id] for message_id in ids]


def delivered(smtp: RecordingHandler, ids: list[str]) -> bool:
    return all(copies(smtp, ids))


def test_serve_sends_from_a_child_that_is_replaced_and_ends_with_it(
    db_url: str, tmp_path: Path, people: dict[str, tuple[int, str]]
) -> None:
    """Mail goes out once from serve's child process and counts in serve's /metrics; a killed
    child is replaced and the next mail goes out; SIGTERM to serve ends the child too."""
    with smtp_server() as (smtp, port):
        env = settings_env(db_url, tmp_path / "data", **smtp_env(port))
        serve = start_serve_with_sender(env, tmp_path)
        try:
            first = add_reminders(db_url, people, "first")
            wait_until(lambda: delivered(smtp, first), 60, "the first reminders")
            [child] = sender_pids(serve)
            assert child != serve.popen.pid and alive(child)
            metrics = f"{serve.url}/metrics"
            wait_until(
                lambda: (
                    value(
                        scrape(metrics, METRICS_TOKEN),
                        "cycle_engine_outbox_deliveries_total",
                        outcome="delivered",
                    )
                    == len(first)
                ),
                30,
                "serve's /metrics to count the child's deliveries",
            )

            os.kill(child, signal.SIGKILL)
            wait_until(lambda: len(sender_pids(serve)) == 2, 60, "a new sender process")
            second = add_reminders(db_url, people, "second")
            wait_until(lambda: delivered(smtp, second), 60, "the second reminders")
            assert "exited (code -9)" in serve.output()
            replacement = sender_pids(serve)[1]

            serve.popen.send_signal(signal.SIGTERM)
            serve.popen.wait(60)
            # uvicorn ends by raising the signal it stopped on again
            assert serve.popen.returncode in (0, -signal.SIGTERM), serve.output()[-3000:]
            assert re.search(r"outbox sender process \d+ stopped \(code 0\)", serve.output())
            assert not alive(replacement)
            assert copies(smtp, first + second) == [1] * (len(first) + len(second))
        finally:
            serve.stop()


def test_the_sender_process_ends_when_serve_is_killed(
    db_url: str, tmp_path: Path, people: dict[str, tuple[int, str]]
) -> None:
    """A serve killed outright leaves no sender behind: the child sees its pipe close, stops."""
    with smtp_server() as (_, port):
        env = settings_env(db_url, tmp_path / "data", **smtp_env(port))
        serve = start_serve_with_sender(env, tmp_path)
        try:
            wait_until(lambda: len(sender_pids(serve)) == 1, 30, "the sender process")
            [child] = sender_pids(serve)
            serve.kill()
            wait_until(lambda: not alive(child), 30, "the orphaned sender to stop")
        finally:
            serve.stop()
            for pid in sender_pids(serve):
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)
