"""The demo's past stays past: notices it wrote about months-old events are not sent.

The demo walks a year of history on a clock set in the past, and every stage change on the way
queues its notices, each with the date the demo gave it. A first `make run` used to deliver
about seventy "stage completed" emails about events months old, in the same minute. Once the
demo has written its history, every notice still waiting that is dated before `before` becomes
`suppressed`, with the reason the mail log shows ("demo history ..."). Notices about the present
(a stage overdue today) are left to the sender, as on any installation.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select

from cycle_engine.clock import as_utc
from cycle_engine.engine import CycleEngine
from cycle_engine.store.tables.outbox import PENDING, SUPPRESSED, OutboxRecord

REASON = (
    "demo history: the demo wrote this notice about an event dated {day}, in the past;"
    " it is kept in the log and not sent"
)


def settle_demo_history(engine: CycleEngine, before: datetime) -> int:
    """Mark every pending notice written before `before` as suppressed demo history.

    Returns how many were marked. Rows already sent, failed or expired are left as they are.
    """
    with engine.db.transaction() as session:
        pending = session.exec(
            select(OutboxRecord).where(
                col(OutboxRecord.status) == PENDING,
                col(OutboxRecord.created_at) < as_utc(before),
            )
        ).all()
        for row in pending:
            row.status = SUPPRESSED
            row.last_error = REASON.format(day=as_utc(row.created_at).strftime("%d %b %Y"))
            session.add(row)
    return len(pending)
