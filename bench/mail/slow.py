"""`python -m bench.mail --mode slow`: outbox delivery to a slow mail server, two senders beside
bare aiosmtplib, exactly once (see `bench.mail`).

The sink takes `--delay` seconds (default 1) to answer each message, serving its connections
concurrently, and notes every Message-ID it accepts. Against it, with the same number of
connections (2 x K):

- bare: N pre-built messages sent with `aiosmtplib.SMTP.sendmail` over 2 x K connections;
- outbox: N due rows delivered by two sender processes (`build_outbox_sender`, default leases
  and heartbeat, K connections each) claiming, rendering, sending and recording each message;
  on SQLite, and on PostgreSQL too when CYCLE_ENGINE_TEST_POSTGRES_URL is set. Timing starts
  when both processes are built and waiting (forked from this single-threaded one, to keep
  `--smoke` short), and ends when the last of them has recorded its last outcome.

Checks: the server accepted every message exactly once (copies per Message-ID), and the
outbox's rate is within a fifth of bare (at least 80%); the exit status is 1 when either fails.
`--smoke` sends one round (2 x K messages) on SQLite, for CI: it checks exactly once and prints
the rate without holding it to the aim (one second of sending mostly measures start-up: fresh
processes compile their queries and templates and open their connections).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.mail import NOW, bare_rate, free_port, run_sink, seed
from cycle_engine import CycleEngine
from cycle_engine.notifications.service import build_outbox_sender
from cycle_engine.notifications.settings import MailSettings, SmtpSettings
from cycle_engine.outbox.claims import ClaimPolicy
from cycle_engine.store.schema import upgrade
from cycle_engine.store.tables.outbox import SENT
from cycle_engine.testing_db import PostgresFactory

#: The outbox's rate must be at least this share of the bare client's.
AIM = 0.8


def accepted(log: Path) -> Counter[str]:
    return Counter(log.read_text().split()) if log.exists() else Counter()


class RunningClock:
    """Real time, starting at the seeded rows' moment (so leases and back-off really run)."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.origin = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.origin)


def run_sender(url: str, port: int, pool: int, data: str, barrier: Any, results: Any) -> None:
    """One sender process: build everything, wait for the start, deliver until idle."""
    with CycleEngine(url, clock=RunningClock(NOW)) as engine:
        settings = MailSettings(
            smtp=SmtpSettings(host="127.0.0.1", port=port, tls="none", pool_size=pool),
            secret_key="bench-secret-0123456789abcdef",
            base_url="https://ce.example",
            data_dir=Path(data),
        )
        sender = build_outbox_sender(engine, settings)
        sender.policy = ClaimPolicy(hourly_cap=10**9)

        async def deliver() -> tuple[int, dict[str, int]]:
            try:
                report = await sender.run_until_idle()
            finally:
                await sender.close()
            return report.claimed, report.outcomes

        barrier.wait()
        claimed, outcomes = asyncio.run(deliver())
        results.put((claimed, outcomes, time.monotonic()))


@dataclass(frozen=True)
class OutboxRun:
    rate: float
    claimed: tuple[int, ...]
    copies: Counter[str]
    expected: list[str]
    sent: int


def outbox_rate(url: str, port: int, count: int, pool: int, log: Path) -> OutboxRun:
    seed(url, count)
    with CycleEngine(url) as engine:
        expected = [r.message_id for r in engine.outbox.messages(channel="email", limit=1000)]
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(3)
    results = context.Queue()
    with tempfile.TemporaryDirectory() as data:
        senders = [
            context.Process(target=run_sender, args=(url, port, pool, data, barrier, results))
            for _ in range(2)
        ]
        for process in senders:
            process.start()
        barrier.wait(timeout=120)
        started = time.monotonic()
        finished = [results.get(timeout=600) for _ in senders]
        for process in senders:
            process.join(timeout=60)
    elapsed = max(end for _, _, end in finished) - started
    with CycleEngine(url) as engine:
        sent = len(engine.outbox.messages(status=SENT, limit=1000))
    copies = accepted(log)
    return OutboxRun(
        rate=count / elapsed,
        claimed=tuple(claimed for claimed, _, _ in finished),
        copies=Counter({m: copies[m] for m in expected}),
        expected=expected,
        sent=sent,
    )


def report(label: str, run: OutboxRun, bare: float, *, aim: float = AIM) -> bool:
    once = all(run.copies[m] == 1 for m in run.expected) and run.sent == len(run.expected)
    twice = sum(1 for m in run.expected if run.copies[m] > 1)
    missing = sum(1 for m in run.expected if run.copies[m] == 0)
    ratio = run.rate / bare
    print(
        f"outbox, two senders ({label}): {run.rate:6.2f} emails/s ({ratio:.0%} of bare; "
        f"aim >= {AIM:.0%}{'' if aim else ', not held with --smoke'}); "
        f"claimed per sender {list(run.claimed)}; rows sent {run.sent}/{len(run.expected)}; "
        f"copies per Message-ID: {dict(Counter(run.copies.values()))} "
        f"(twice or more {twice}, missing {missing}) -> "
        f"{'exactly once' if once else 'NOT exactly once'}"
    )
    return once and ratio >= aim


def run(args: argparse.Namespace) -> int:
    connections = 2 * args.pool
    count = args.messages or (connections if args.smoke else 20 * connections)
    pg_url = os.environ.get("CYCLE_ENGINE_TEST_POSTGRES_URL")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "accepted.txt"
        port = free_port()
        context = multiprocessing.get_context("fork")
        ready = context.Event()
        counter = context.Value("i", 0)
        sink = context.Process(
            target=run_sink, args=(port, counter, ready, args.delay, str(log)), daemon=True
        )
        sink.start()
        if not ready.wait(timeout=60):
            raise SystemExit("the SMTP server did not start")
        try:
            bare, bare_ids = asyncio.run(bare_rate(port, count, connections))
            copies = accepted(log)
            bare_once = all(copies[m] == 1 for m in bare_ids)
            print(
                f"messages: {count}, server: {args.delay:g} s per message, connections: "
                f"{connections} (2 senders x {args.pool})"
            )
            print(
                f"bare aiosmtplib sendmail:    {bare:6.2f} emails/s "
                f"({'each once' if bare_once else 'NOT each once'})"
            )
            ok = bare_once
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            upgrade(url)
            run_ = outbox_rate(url, port, count, args.pool, log)
            ok = report("sqlite", run_, bare, aim=0.0 if args.smoke else AIM) and ok
            if pg_url and not args.smoke:
                factory = PostgresFactory(pg_url)
                try:
                    run_ = outbox_rate(factory.new(), port, count, args.pool, log)
                    ok = report("postgresql", run_, bare) and ok
                finally:
                    factory.close()
        finally:
            sink.terminate()
            sink.join()
    return 0 if ok else 1
