"""The dashboard's sign-in email: whether one is queued, to whom, and what it carries.

The dashboard makes and checks the signed token (`api/dashboard/signin.py`); like every other
email, the decision to send one is made here, in the caller's transaction: to the person who
asked, at most MAX_LINKS_PER_WINDOW per link lifetime, and at most MAX_LINKS_PER_CLIENT per link
lifetime asked for by one client (an opaque key the caller derives, e.g. from the address it
connects from), with a Message-ID naming the link.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import func
from sqlmodel import Session, col, select

from cycle_engine.store.tables.alliances import PersonRecord
from cycle_engine.store.tables.outbox import EMAIL, OutboxRecord

SIGNIN_KIND = "signin"
MAX_LINKS_PER_WINDOW = 5
MAX_LINKS_PER_CLIENT = 10


@dataclass(frozen=True, kw_only=True)
class SignInLink:
    """A sign-in link made by the dashboard: its id, the URL to click, when it expires."""

    token_id: str
    url: str
    expires_at: datetime


def queue_signin_email(
    session: Session,
    person: PersonRecord,
    link: SignInLink,
    *,
    now: datetime,
    client: str | None = None,
) -> OutboxRecord | None:
    """Queue the email carrying `link` to `person` (never commits).

    Returns the outbox row, or None when the person already has MAX_LINKS_PER_WINDOW links, or
    `client` MAX_LINKS_PER_CLIENT links, queued within one link lifetime (`link.expires_at -
    now`).
    """
    assert person.id is not None
    lifetime = link.expires_at - now
    recent = session.exec(
        select(func.count())
        .select_from(OutboxRecord)
        .where(
            OutboxRecord.person_id == person.id,
            OutboxRecord.kind == SIGNIN_KIND,
            col(OutboxRecord.created_at) > now - lifetime,
        )
    ).one()
    if recent >= MAX_LINKS_PER_WINDOW:
        return None
    if client is not None and _asked_by(session, client, since=now - lifetime) >= (
        MAX_LINKS_PER_CLIENT
    ):
        return None
    host = urlsplit(link.url).hostname or "localhost"
    row = OutboxRecord(
        channel=EMAIL,
        kind=SIGNIN_KIND,
        person_id=person.id,
        recipient=person.email,
        language=person.language,
        rule=SIGNIN_KIND,
        dedupe_key=f"signin:{link.token_id}",
        message_id=f"<signin.{link.token_id}@{host}>",
        not_before=now,
        next_attempt_at=now,
        expires_at=link.expires_at,  # a link that no longer works is not worth sending
        created_at=now,
        context={
            "person": {"id": person.id, "name": person.name, "email": person.email},
            "signin_url": link.url,
            "expires_at": link.expires_at.isoformat(),
            "minutes": int(lifetime.total_seconds() // 60),
            "timezone": person.timezone,
            "client": client,
        },
    )
    session.add(row)
    session.flush()
    return row


def _asked_by(session: Session, client: str, *, since: datetime) -> int:
    """Sign-in emails `client` asked for since `since`."""
    return session.exec(
        select(func.count())
        .select_from(OutboxRecord)
        .where(
            OutboxRecord.kind == SIGNIN_KIND,
            col(OutboxRecord.created_at) > since,
            col(OutboxRecord.context)["client"].as_string() == client,
        )
    ).one()
