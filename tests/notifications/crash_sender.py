"""A sender process for the crash tests: one pass at a fixed clock time, `pool` messages on
the wire at a time, `batch` rows at most.

Run as `python -m tests.notifications.crash_sender DB_URL HOST PORT NOW_ISO [POOL [BATCH]]`
(default: one row, one at a time); the tests stop or kill it while the SMTP server answers.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from pathlib import Path

from cycle_engine import CycleEngine
from cycle_engine.notifications.service import build_outbox_sender
from cycle_engine.notifications.settings import MailSettings, SmtpSettings
from cycle_engine.outbox.claims import ClaimPolicy
from cycle_engine.testing import ManualClock


def main(db_url: str, host: str, port: str, now: str, pool: str = "1", batch: str = "1") -> None:
    clock = ManualClock(datetime.fromisoformat(now))
    smtp = SmtpSettings(host=host, port=int(port), tls="none", timeout=30.0, pool_size=int(pool))
    settings = MailSettings(
        smtp=smtp,
        secret_key="test-secret-key-0123456789abcdef",
        base_url="http://127.0.0.1:9",
        data_dir=Path("."),
    )
    with CycleEngine(db_url, clock=clock) as engine:
        sender = build_outbox_sender(engine, settings, owner="doomed-sender")
        sender.policy = ClaimPolicy(batch=int(batch), hourly_cap=1000)
        asyncio.run(sender.run_once())


if __name__ == "__main__":
    main(*sys.argv[1:7])
