"""A person's notification choices, and what changing them does to emails already waiting.

Modes: `immediate` (each email when it is due, within the person's working day) or `digest`
(one email a day at `digest_hour`, the person's local time). `unsubscribed` lists kinds the
person switched off. A change applies to waiting emails too: switching to the digest folds the
waiting ones into it, switching back releases them, switching a kind off suppresses them
(still visible in the outbox, never silently dropped).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from cycle_engine.errors import InvalidInput
from cycle_engine.outbox.enqueue import DIGESTIBLE, EMAIL_KINDS, digest_time
from cycle_engine.store.tables.outbox import (
    DIGEST,
    EMAIL,
    IMMEDIATE,
    PENDING,
    SUPPRESSED,
    NotificationPreferenceRecord,
    OutboxRecord,
)

MODES = (IMMEDIATE, DIGEST)
#: Kinds a person may switch off (links they ask for themselves always go out).
OPTIONAL_KINDS = tuple(k for k in EMAIL_KINDS if k not in ("fresh_link", "signin"))


def validate_preferences(
    prefs: NotificationPreferenceRecord,
    *,
    mode: str | None,
    digest_hour: int | None,
    unsubscribed: Sequence[str] | None,
) -> None:
    """Apply the given choices to `prefs`; raises InvalidInput naming the bad field."""
    if mode is not None:
        if mode not in MODES:
            raise InvalidInput("mode", f"must be one of {', '.join(MODES)}; got {mode!r}")
        prefs.mode = mode
    if digest_hour is not None:
        if isinstance(digest_hour, bool) or not 0 <= int(digest_hour) <= 23:
            raise InvalidInput("digest_hour", f"must be an hour 0-23, got {digest_hour!r}")
        prefs.digest_hour = int(digest_hour)
    if unsubscribed is not None:
        unknown = sorted(set(unsubscribed) - set(OPTIONAL_KINDS))
        if unknown:
            raise InvalidInput(
                "unsubscribed",
                f"unknown email kinds {', '.join(unknown)}; "
                f"choose from {', '.join(OPTIONAL_KINDS)}",
            )
        prefs.unsubscribed = sorted(set(unsubscribed))


def replan_person(
    session: Session, prefs: NotificationPreferenceRecord, tz_name: str, now: datetime
) -> int:
    """Bring the person's waiting emails in line with `prefs`; returns how many changed."""
    rows = session.exec(
        select(OutboxRecord).where(
            col(OutboxRecord.person_id) == prefs.person_id,
            col(OutboxRecord.channel) == EMAIL,
            col(OutboxRecord.status) == PENDING,
        )
    ).all()
    changed = 0
    for row in rows:
        if row.kind in prefs.unsubscribed:
            row.status = SUPPRESSED
            row.last_error = f"{row.kind} emails were switched off in the person's preferences"
        elif prefs.mode == DIGEST and row.kind in DIGESTIBLE:
            row.delivery = DIGEST
            row.next_attempt_at = digest_time(max(row.not_before, now), tz_name, prefs.digest_hour)
        elif row.delivery == DIGEST and prefs.mode == IMMEDIATE:
            row.delivery = IMMEDIATE
            row.next_attempt_at = max(row.not_before, now)
        else:
            continue
        session.add(row)
        changed += 1
    return changed
