"""Email throughput of the outbox, beside bare aiosmtplib in the same run (`python -m bench.mail`).

Two modes share the SMTP sink (aiosmtpd on loopback, in its own process), the seeded rows and
the bare client:

- `fast` (default, `bench.mail.fast`): a sink that answers at once; one outbox sender in this
  process claims, renders, signs, sends and records N rows over K connections, beside bare
  `aiosmtplib.SMTP.sendmail` of pre-built messages over the same K connections. Aims: the
  outbox at least half of bare, and at least 1,000 emails/s.
- `slow` (`bench.mail.slow`): a sink that takes `--delay` seconds per message; two sender
  processes share the rows; checks that each message arrives exactly once and that the outbox
  keeps up with bare (at least 80%).
"""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
from aiosmtpd.controller import Controller

from bench import world
from cycle_engine import CycleEngine
from cycle_engine.outbox.enqueue import new_message_id
from cycle_engine.store.tables.alliances import PersonRecord
from cycle_engine.store.tables.outbox import OutboxRecord
from cycle_engine.testing import ManualClock

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class Sink:
    """Accepts every message after `delay` seconds; counts it, and with a `log` file notes its
    Message-ID there (to count copies)."""

    def __init__(self, counter: Any, delay: float = 0.0, log: Path | None = None) -> None:
        self.counter = counter
        self.delay = delay
        self.log = log

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.log is not None:
            content = bytes(envelope.original_content or envelope.content)
            header = next(
                (
                    line
                    for line in content.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
                    if line.lower().startswith(b"message-id:")
                ),
                b"message-id: (none)",
            )
            with self.log.open("ab") as out:
                out.write(header.split(b":", 1)[1].strip() + b"\n")
        with self.counter.get_lock():
            self.counter.value += 1
        return "250 2.0.0 accepted"


def run_sink(port: int, counter: Any, ready: Any, delay: float = 0.0, log: str = "") -> None:
    """The sink server, in its own process so it does not share the benchmark's GIL."""
    sink = Sink(counter, delay, Path(log) if log else None)
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _context(n: int, now: datetime) -> dict[str, Any]:
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
            "due_at": (now + timedelta(days=60)).isoformat(),
            "entered_at": now.isoformat(),
        },
        "details": {"rule": "week_before"},
    }


def seed(url: str, count: int, now: datetime = NOW) -> None:
    """`bench.world`'s alliance (three partners at every level, with focal points) with one
    learning cycle, and `count` reminder rows due at `now` (`add_emails`)."""
    with CycleEngine(url, clock=ManualClock(now)) as engine:
        add_emails(engine, world.build(engine, 1, 3), count, now)


def add_emails(
    engine: CycleEngine, built: world.World, count: int, now: datetime, batch: str = ""
) -> None:
    """`count` reminder rows due at `now` on `built`'s first cycle, one per person (so none
    supersedes another), the people spread over its organisations, languages rotating
    en/es/fr; `batch` keeps the addresses of a further call apart."""
    cycle = built.cycles[0]
    with engine.db.transaction() as session:
        people = [
            PersonRecord(
                name=f"Partner {n}",
                email=f"partner{batch}{n}@example.org",
                organisation_id=built.organisations[n % len(built.organisations)],
                language=("en", "es", "fr")[n % 3],
                timezone="America/Bogota",
                joined_on=now.date(),
            )
            for n in range(count)
        ]
        session.add_all(people)
        session.flush()
        session.add_all(
            [
                OutboxRecord(
                    kind="reminder",
                    cycle_id=cycle,
                    stage="prototype",
                    visit=1,
                    rule="week_before",
                    occurrence=1,
                    person_id=person.id,
                    recipient=person.email,
                    language=person.language,
                    dedupe_key=f"{cycle}:prototype(1):week_before:1:{person.email}",
                    message_id=new_message_id(),
                    not_before=now,
                    next_attempt_at=now,
                    created_at=now,
                    context=_context(n, now),
                )
                for n, person in enumerate(people)
            ]
        )


def bare_message(n: int) -> bytes:
    """A message of about the size of a rendered reminder, built before timing starts."""
    message = EmailMessage()
    message["From"], message["To"] = "ce@example.org", f"partner{n}@example.org"
    message["Subject"], message["Message-ID"] = "Reminder", new_message_id()
    message.set_content("Reminder text " * 80)
    message.add_alternative("<p>" + "Reminder html " * 200 + "</p>", subtype="html")
    return message.as_bytes()


async def bare_rate(port: int, count: int, connections: int) -> tuple[float, list[str]]:
    """Emails/s of `count` pre-built messages over `connections` aiosmtplib connections, and
    their Message-IDs."""
    messages = [bare_message(n) for n in range(count)]
    clients = [
        aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=60)
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
    ids = [m.split(b"Message-ID: ", 1)[1].split(b"\n", 1)[0].strip().decode() for m in messages]
    return count / elapsed, ids
