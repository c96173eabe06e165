"""The deployment the README's "Deploying" section describes, run for real on PostgreSQL: two
`serve`, two `worker` and two `mail send --forever` processes. A client drives 1,000 fires
through both servers (each with an Idempotency-Key, retried on the other server when one fails)
while the fires' timers fall due; midway one process of each kind is killed with SIGKILL. Then
every effect happened exactly once: each cycle's history is its 20 fires in order, each fired
timer has one event, and each email reached the SMTP server once (twice at most, with the same
Message-ID and marked as a possible duplicate, only for what the killed sender had on the wire).
The surviving processes' metrics show the work."""

from __future__ import annotations

import itertools
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from cycle_engine import CycleEngine
from cycle_engine.actors import Actor
from cycle_engine.testing import WorldBuilder
from cycle_engine.testing_db import PostgresFactory

from .processes import (
    Process,
    scrape,
    settings_env,
    smtp_env,
    smtp_server,
    start,
    start_serve,
    wait_until,
)
from .processes import value as metric

pytestmark = [pytest.mark.slow, pytest.mark.process, pytest.mark.timeout(240)]

CYCLES = 50
FIRES = 20  # per cycle: go_there, go_here, ... and the last one is finish
PARTNERS = 5
CLIENTS = 8
RELAY = Path(__file__).with_name("relay.yaml")


def triggers() -> list[str]:
    passes = ["go_there", "go_here"] * FIRES
    return [*passes[: FIRES - 1], "finish"]


@pytest.fixture
def database(postgres_factory: PostgresFactory | None) -> Iterator[str]:
    if postgres_factory is None:
        pytest.skip("set CYCLE_ENGINE_TEST_POSTGRES_URL: the deployment runs on PostgreSQL")
    url = postgres_factory.new()
    yield url
    postgres_factory.drop(url)


def seed(url: str) -> tuple[list[int], str]:
    """The relay's cycles in an alliance working around the clock, each led by one of five
    partners' focal points; an admin key for the client."""
    with CycleEngine(url) as engine:
        engine.templates.publish_file(RELAY)
        build = WorldBuilder(engine, actor=Actor(name="cora", role="coordinator"))
        build.alliance(
            "alliance",
            "Relay alliance",
            "Operations",
            working_hours_start=0,
            working_hours_end=24,
            weekend_days="",
        )
        for n in range(PARTNERS):
            build.organisation(f"org{n}", f"Partner {n}", "ngo", "Peru", member_of=["alliance"])
            build.person(f"p{n}", f"Focal {n}", f"focal{n}@partner.example.org", f"org{n}")
        cycles = []
        for c in range(CYCLES):
            cycles.append(build.cycle(f"c{c}", "relay", f"Relay {c}", "alliance"))
            for stage in ("here", "there"):
                build.role(
                    f"c{c}", stage, f"org{c % PARTNERS}", "lead", focal_point=f"p{c % PARTNERS}"
                )
        return cycles, build.key("client", "admin")


class Client:
    """Fires through the live servers in turn; a failed request goes to the next server with
    the same Idempotency-Key, so a fire a dead server committed is answered, not repeated."""

    def __init__(self, servers: list[Process], token: str) -> None:
        self.servers = servers
        self.headers = {"Authorization": f"Bearer {token}"}
        self.turn = itertools.count()
        self.local = threading.local()
        self.done = 0
        self.retries = 0
        self.lock = threading.Lock()
        self.opened: list[httpx.Client] = []

    def _client(self, server: Process) -> httpx.Client:
        clients = self.local.__dict__.setdefault("clients", {})
        if server.name not in clients:
            client = httpx.Client(base_url=server.url, headers=self.headers, timeout=30)
            clients[server.name] = client
            with self.lock:
                self.opened.append(client)
        return clients[server.name]  # type: ignore[no-any-return]

    def close(self) -> None:
        for client in self.opened:
            client.close()

    def fire(self, cycle_id: int, n: int, trigger: str) -> None:
        key = {"Idempotency-Key": f"relay-{cycle_id}-{n}"}
        for _ in range(40):
            live = [s for s in self.servers if s.popen.poll() is None]
            server = live[next(self.turn) % len(live)]
            try:
                answer = self._client(server).post(
                    f"/api/v1/cycles/{cycle_id}/transitions", json={"trigger": trigger}, headers=key
                )
            except httpx.TransportError:
                answer = None
            if answer is not None and answer.status_code == 201:
                assert answer.json()["trigger"] == trigger
                with self.lock:
                    self.done += 1
                return
            assert answer is None or answer.status_code >= 500, answer.text
            with self.lock:
                self.retries += 1
            time.sleep(0.1)
        raise AssertionError(f"fire {n} of cycle {cycle_id} never succeeded")

    def relay(self, cycle_ids: list[int]) -> None:
        """Fire every cycle of `cycle_ids` in turn, one fire each per round."""
        for n, trigger in enumerate(triggers()):
            for cycle_id in cycle_ids:
                self.fire(cycle_id, n, trigger)


def test_two_of_each_process_survive_kill_9_with_every_effect_exactly_once(
    database: str, tmp_path: Path
) -> None:
    """1,000 fires through two servers, timers and mail handled by two workers and two senders,
    one of each killed midway: every fire, timer and email happened once."""
    cycle_ids, token = seed(database)
    started = time.monotonic()
    with smtp_server() as (smtp, smtp_port):
        env = settings_env(database, tmp_path / "data", **smtp_env(smtp_port))
        worker_args = ["worker", "--interval", "0.5", "--lease", "5", "--metrics-port", "0"]
        sender_args = [
            "mail",
            "send",
            "--forever",
            "--interval",
            "0.3",
            "--lease",
            "5",
            "--metrics-port",
            "0",
        ]
        running: list[Process] = []
        try:
            running += [start(f"worker-{n}", worker_args, env, tmp_path) for n in "ab"]
            running += [start(f"sender-{n}", sender_args, env, tmp_path) for n in "ab"]
            servers = [start_serve(f"serve-{n}", env, tmp_path) for n in "ab"]
            running += servers
            client = Client(servers, token)
            ready = time.monotonic()
            groups = [cycle_ids[i::CLIENTS] for i in range(CLIENTS)]
            with ThreadPoolExecutor(CLIENTS) as pool:
                futures = [pool.submit(client.relay, group) for group in groups]
                wait_until(lambda: client.done >= CYCLES * FIRES // 2, 120, "half the fires")
                killed = [p for p in running if p.name.endswith("-a")]
                for process in killed:
                    process.kill()
                try:
                    for future in futures:
                        future.result()
                finally:
                    client.close()
            fired = time.monotonic()
            checker = create_engine(database)
            try:
                wait_until(
                    lambda: quiet(checker), 90, "every timer fired and every email sent", 0.5
                )
                quiet_at = time.monotonic()
                survivors = {
                    p.name: scrape(p.metrics_url() if not p.url else f"{p.url}/metrics")
                    for p in running
                    if p.popen.poll() is None
                }
                check_exactly_once(checker, cycle_ids, smtp.received)
                emails = sum(smtp.received.values())
            finally:
                checker.dispose()
        finally:
            for process in running:
                process.stop()
    for process in running:  # the others stopped cleanly on SIGTERM (uvicorn re-raises it)
        if process not in killed:
            assert process.popen.returncode in (0, -signal.SIGTERM), process.output()[-2000:]
            assert "Traceback" not in process.output(), process.output()[-3000:]
    assert metric(survivors["serve-b"], "cycle_engine_fires_total", template="relay") > 0
    assert metric(survivors["worker-b"], "cycle_engine_timers_fired_total", outcome="fired") > 0
    assert (
        metric(survivors["sender-b"], "cycle_engine_outbox_deliveries_total", outcome="delivered")
        > 0
    )
    assert metric(survivors["serve-b"], "cycle_engine_outbox_messages", status="pending") == 0
    print(
        f"\n{client.done} fires ({client.retries} retried) in {fired - ready:.1f}s, "
        f"quiet {quiet_at - fired:.1f}s later; {emails} emails received; "
        f"processes up {ready - started:.1f}s; total {time.monotonic() - started:.1f}s"
    )


def quiet(checker: object) -> bool:
    """Every cycle finished, no timer waiting or claimed, no email waiting or claimed."""
    with checker.connect() as connection:  # type: ignore[attr-defined]
        open_cycles = connection.execute(text("SELECT count(*) FROM cycles WHERE state <> 'done'"))
        timers = connection.execute(
            text("SELECT count(*) FROM timers WHERE status IN ('pending', 'claimed')")
        )
        outbox = connection.execute(
            text("SELECT count(*) FROM outbox WHERE status IN ('pending', 'claimed')")
        )
        return open_cycles.scalar_one() == timers.scalar_one() == outbox.scalar_one() == 0


def check_exactly_once(checker: object, cycle_ids: list[int], received: Counter[str]) -> None:
    with checker.connect() as connection:  # type: ignore[attr-defined]
        rows = connection.execute(
            text(
                "SELECT cycle_id, trigger FROM events WHERE kind = 'transition'"
                " ORDER BY cycle_id, seq"
            )
        ).all()
        history: dict[int, list[str]] = {}
        for cycle_id, trigger in rows:
            history.setdefault(cycle_id, []).append(trigger)
        assert history == {cycle_id: triggers() for cycle_id in cycle_ids}
        per_timer = connection.execute(
            text(
                "SELECT t.id, t.kind, count(e.id) FROM timers t LEFT JOIN events e"
                " ON e.cycle_id = t.cycle_id AND (e.data->>'timer_id')::int = t.id"
                " WHERE t.status = 'fired' GROUP BY t.id, t.kind"
            )
        ).all()
        assert per_timer and {count for _, _, count in per_timer} == {1}, Counter(
            (kind, count) for _, kind, count in per_timer
        )
        emails = connection.execute(
            text(
                "SELECT message_id, status, possible_duplicate FROM outbox WHERE channel = 'email'"
            )
        ).all()
    # suppressed: superseded by a newer reminder; expired: its step ended before it was sent
    assert {status for _, status, _ in emails} <= {"sent", "suppressed", "expired"}
    rows = {message_id: (status, duplicate) for message_id, status, duplicate in emails}
    assert set(received) <= set(rows), set(received) - set(rows)  # nothing else was sent
    for message_id, (status, duplicate) in rows.items():
        times = received.get(message_id, 0)
        assert times >= (1 if status == "sent" else 0), (message_id, status)
        # a second copy only after the killed sender's lease ran out, marked as such
        assert times <= (2 if duplicate else 1), (message_id, status, times)
    sent = [m for m, (status, _) in rows.items() if status == "sent"]
    twice = [m for m, times in received.items() if times > 1]
    assert len(twice) <= 16  # at most what the killed sender had on the wire (its SMTP pool)
    kinds = Counter(kind for _, kind, _ in per_timer)
    print(f"\ntimers fired once: {dict(kinds)}; {len(sent)} emails sent, {len(twice)} twice")
