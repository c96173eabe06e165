"""How long each notice stays worth sending, and what to say when one no longer is.

Delivery never gives up on a count: a row that meets temporary failures (a mail server down for
a day, a receiver answering 503) is retried until it is delivered or until `expires_at`, set
here when the row is written. Past that moment the row becomes `expired` with a reason instead
of going out late and wrong:

    reminder, stage_started   the step's deadline: past it, overdue notices take over
    due_today                 a day after the deadline
    overdue, reminder with    seven days (the next overdue notice or reminder replaces it)
      no deadline ahead
    fresh_link                a day (the person is waiting for it now)
    signin                    when the link it carries expires
    webhooks                  seven days
    everything else           thirty days (results, escalations, stall alerts, digests)

So a week without a mail server loses nothing that still matters. Migration
`0009_outbox_expiry` applies the same rules to rows written before expiries existed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from cycle_engine.clock import as_utc
from cycle_engine.store.tables.outbox import EMAIL, OutboxRecord

DEFAULT_LIFETIME = timedelta(days=30)
WEBHOOK_LIFETIME = timedelta(days=7)
#: Kinds whose use ends with the step's deadline (plus this much) when it lies ahead.
UNTIL_DEADLINE = {
    "reminder": timedelta(0),
    "stage_started": timedelta(0),
    "due_today": timedelta(days=1),
}
#: Kinds with a lifetime of their own (counted from when the row was written).
LIFETIMES = {
    "reminder": timedelta(days=7),
    "due_today": timedelta(days=1),
    "overdue": timedelta(days=7),
    "fresh_link": timedelta(days=1),
}


def email_expiry(kind: str, *, created: datetime, deadline: datetime | None) -> datetime:
    """When an email of `kind` written at `created` about a step due at `deadline` expires."""
    grace = UNTIL_DEADLINE.get(kind)
    if grace is not None and deadline is not None and deadline + grace > created:
        return deadline + grace
    return created + LIFETIMES.get(kind, DEFAULT_LIFETIME)


def webhook_expiry(created: datetime) -> datetime:
    return created + WEBHOOK_LIFETIME


def expiry_reason(row: OutboxRecord) -> str:
    """Why `row` expired undelivered, with the last error it met (for the outbox and the log)."""
    assert row.expires_at is not None
    deadline = step_deadline(row)
    grace = UNTIL_DEADLINE.get(row.kind) if row.channel == EMAIL else None
    if row.channel == EMAIL and row.kind == "signin":
        why = f"the sign-in link it carries expired ({_text(row.expires_at)})"
    elif grace is not None and deadline is not None and row.expires_at == deadline + grace:
        why = (
            f"the step's deadline ({_text(deadline)}) passed"
            + (" a day ago" if grace else "")
            + " before it could be delivered; overdue notices take over"
        )
    else:
        why = f"it was worth sending until {_text(row.expires_at)}"
    last = f"; last error: {row.last_error}" if row.last_error else ""
    return f"expired undelivered: {why}{last}"[:2000]


def step_deadline(row: OutboxRecord) -> datetime | None:
    """The deadline of the step an email row is about (from its context), if it has one."""
    due = (row.context.get("stage") or {}).get("due_at")
    return as_utc(datetime.fromisoformat(due)) if isinstance(due, str) else None


def _text(moment: datetime) -> str:
    return f"{as_utc(moment):%Y-%m-%d %H:%M} UTC"
