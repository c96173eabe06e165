"""Email throughput: outbox rows rendered and delivered per second, beside bare aiosmtplib.

    python -m bench.mail [--smoke] [--messages N] [--connections K]

Both figures are measured in the same run against the same local SMTP sink (aiosmtpd on
127.0.0.1 in its own process, answering 250 to everything), with the same number of
connections:

- bare: pre-built message bytes sent with `aiosmtplib.SMTP.sendmail` over K connections;
- outbox: N rows in a SQLite outbox, claimed with leases, rendered (text + HTML, three
  languages, signed action links), sent through `SmtpMailSender` and marked sent.

Aim: the outbox at least half the bare rate and at least 1,000 emails/s. Printed, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import tempfile
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
from aiosmtpd.controller import Controller

from cycle_engine import CycleEngine
from cycle_engine.notifications.delivery import EmailChannel, OutboxSender
from cycle_engine.notifications.links import LinkSigner
from cycle_engine.notifications.render import Renderer
from cycle_engine.notifications.senders.smtp import SmtpMailSender
from cycle_engine.notifications.settings import SmtpSettings
from cycle_engine.outbox.claims import ClaimPolicy
from cycle_engine.outbox.enqueue import new_message_id
from cycle_engine.store.db import Database
from cycle_engine.store.schema import upgrade
from cycle_engine.store.tables.alliances import PersonRecord
from cycle_engine.store.tables.outbox import OutboxRecord
from cycle_engine.testing import ManualClock

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class Sink:
    """Accepts every message and counts it."""

    def __init__(self, counter: Any) -> None:
        self.counter = counter

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.counter.value += 1
        return "250 OK"


def run_sink(port: int, counter: Any, ready: Any) -> None:
    """The sink server, in its own process so it does not share the benchmark's GIL."""
    controller = Controller(Sink(counter), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _context(n: int) -> dict[str, Any]:
    return {
        "person": {"id": n, "name": f"Partner {n}"},
        "organisation": {"name": "Farmers Network"},
        "alliance": {"name": "Rural enterprise alliance"},
        "timezone": "America/Bogota",
        "role": "focal_point",
        "actions": ["acknowledge", "done", "extend", "snooze"],
        "cycle": {"id": 1, "title": "Market access for smallholders"},
        "stage": {
            "key": "prototype",
            "title": "Prototype",
            "description": "Build it.",
            "visit": 1,
            "visit_id": 5,
            "due_at": "2026-03-06T22:00:00+00:00",
            "entered_at": "2026-01-05T09:00:00+00:00",
        },
        "details": {"rule": "week_before"},
    }


def seed(url: str, count: int) -> None:
    """`count` due reminder rows, one per person of a real cycle, languages rotating en/es/fr."""
    with CycleEngine(url, clock=ManualClock(NOW)) as engine:
        engine.publish_builtin_templates()
        cycle = engine.start_cycle(
            "learning-cycle", "Market access for smallholders", standalone=True
        )
        organisation = engine.alliances.add_organisation(
            "Farmers Network", "local", "Colombia", timezone="America/Bogota"
        )
        assert cycle.id is not None and organisation.id is not None
        with engine.db.transaction() as session:
            people = [
                PersonRecord(
                    name=f"Partner {n}",
                    email=f"partner{n}@example.org",
                    organisation_id=organisation.id,
                    language=("en", "es", "fr")[n % 3],
                    timezone="America/Bogota",
                    joined_on=NOW.date(),
                )
                for n in range(count)
            ]
            session.add_all(people)
            session.flush()
            session.add_all(
                [
                    OutboxRecord(
                        kind="reminder",
                        cycle_id=cycle.id,
                        stage="prototype",
                        visit=1,
                        rule="week_before",
                        occurrence=1,
                        person_id=person.id,
                        recipient=person.email,
                        language=person.language,
                        dedupe_key=f"{cycle.id}:prototype(1):week_before:1:{person.email}",
                        message_id=new_message_id(),
                        not_before=NOW,
                        next_attempt_at=NOW,
                        created_at=NOW,
                        context=_context(n),
                    )
                    for n, person in enumerate(people)
                ]
            )


def _bare_message(n: int) -> bytes:
    """A message of about the size of a rendered reminder, built before timing starts."""
    message = EmailMessage()
    message["From"], message["To"] = "ce@example.org", f"partner{n}@example.org"
    message["Subject"], message["Message-ID"] = "Reminder", new_message_id()
    message.set_content("Reminder text " * 80)
    message.add_alternative("<p>" + "Reminder html " * 200 + "</p>", subtype="html")
    return message.as_bytes()


async def bare_rate(port: int, count: int, connections: int) -> float:
    messages = [_bare_message(n) for n in range(count)]
    clients = [
        aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        for _ in range(connections)
    ]
    for client in clients:
        await client.connect()
    started = time.perf_counter()

    async def run(index: int) -> None:
        for n in range(index, count, connections):
            await clients[index].sendmail(
                "ce@example.org", [f"partner{n}@example.org"], messages[n]
            )

    await asyncio.gather(*(run(i) for i in range(connections)))
    elapsed = time.perf_counter() - started
    for client in clients:
        await client.quit()
    return count / elapsed


async def outbox_rate(url: str, port: int, count: int, connections: int) -> float:
    clock = ManualClock(NOW)
    database = Database(url)
    mailer = SmtpMailSender(
        SmtpSettings(host="127.0.0.1", port=port, tls="none", pool_size=connections)
    )
    channel = EmailChannel(
        mailer,
        Renderer(),
        LinkSigner("bench-secret-0123456789abcdef", "https://ce.example", clock),
        "ce@example.org",
        concurrency=connections,
    )
    sender = OutboxSender(
        database, clock, {"email": channel}, policy=ClaimPolicy(batch=500, hourly_cap=10**9)
    )
    started = time.perf_counter()
    report = await sender.run_until_idle()
    elapsed = time.perf_counter() - started
    await sender.close()
    database.dispose()
    assert report.outcomes.get("delivered") == count, report
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a quick run for CI")
    parser.add_argument("--messages", type=int, default=None)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    count = args.messages or (300 if args.smoke else 5000)
    port = _free_port()
    counter = multiprocessing.Value("i", 0)
    ready = multiprocessing.Event()
    sink = multiprocessing.Process(target=run_sink, args=(port, counter, ready), daemon=True)
    sink.start()
    if not ready.wait(timeout=30):
        raise SystemExit("the SMTP sink did not start")
    try:
        with tempfile.TemporaryDirectory() as directory:
            url = f"sqlite:///{Path(directory) / 'bench.db'}"
            upgrade(url)
            seed(url, count)
            bare = asyncio.run(bare_rate(port, count, args.connections))
            outbox = asyncio.run(outbox_rate(url, port, count, args.connections))
    finally:
        sink.terminate()
        sink.join()
    print(
        f"messages: {count}, connections: {args.connections}, sink received {counter.value} "
        "(in a separate process)"
    )
    print(f"bare aiosmtplib sendmail:          {bare:8.0f} emails/s")
    print(
        f"outbox claim+render+send+mark:     {outbox:8.0f} emails/s "
        f"({outbox / bare:.0%} of bare; aims: >= 50% and >= 1,000/s)"
    )


if __name__ == "__main__":
    main()
