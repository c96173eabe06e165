"""`python -m bench.mail [--mode fast]`: the outbox beside bare aiosmtplib, against a sink that
answers at once, with the same K connections in the same run (see `bench.mail`).

- bare: N pre-built messages sent with `aiosmtplib.SMTP.sendmail` over K connections;
- outbox: N rows in a SQLite outbox, claimed with leases, rendered (text + HTML, three
  languages, one signed token per email for all its links), sent through `SmtpMailSender`
  and recorded, by one `OutboxSender` in this process.

Prints both rates and their ratio (aims: at least 0.5, and at least 1,000 emails/s); printed,
not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import tempfile
import time
from pathlib import Path

from bench.mail import NOW, bare_rate, free_port, run_sink, seed
from cycle_engine.notifications.delivery import EmailChannel, OutboxSender
from cycle_engine.notifications.links import LinkSigner
from cycle_engine.notifications.render import Renderer
from cycle_engine.notifications.senders.smtp import SmtpMailSender
from cycle_engine.notifications.settings import SmtpSettings
from cycle_engine.outbox.claims import ClaimPolicy
from cycle_engine.store.db import Database
from cycle_engine.store.schema import upgrade
from cycle_engine.testing import ManualClock


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


def run(args: argparse.Namespace) -> int:
    count = args.messages or (300 if args.smoke else 5000)
    connections = args.connections
    port = free_port()
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
            bare, _ = asyncio.run(bare_rate(port, count, connections))
            outbox = asyncio.run(outbox_rate(url, port, count, connections))
    finally:
        sink.terminate()
        sink.join()
    print(
        f"messages: {count}, connections: {connections}, sink received {counter.value} "
        "(in a separate process)"
    )
    print(f"bare aiosmtplib sendmail:          {bare:8.0f} emails/s")
    print(f"outbox claim+render+send+record:   {outbox:8.0f} emails/s")
    print(f"outbox / bare: {outbox / bare:.2f} (aims: >= 0.50 and >= 1,000 emails/s)")
    return 0
