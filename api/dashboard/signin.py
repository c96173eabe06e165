"""Signing in by emailed link: signed, expiring, single use, and silent about who exists.

A link carries `{person, token id, expiry}` signed with the app's secret (itsdangerous); the
expiry is checked against the engine's clock, so tests move time instead of sleeping. Using a
link writes its id to `dashboard_signin_uses`, whose primary key refuses a second use even when
two browsers race. Opening a link shows a "Sign in" button that POSTs the token: mail scanners
that follow links (GET) cannot burn it.

Asking for a link never says whether the address is known. The email goes through the durable
outbox (kind "signin"), so it reaches SMTP or the development mailbox like every other notice;
at most MAX_LINKS_PER_WINDOW links per person are queued per LINK_LIFETIME.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from cycle_engine.clock import Clock
from cycle_engine.errors import PersonNotFound
from cycle_engine.store.db import Database
from cycle_engine.store.tables.alliances import PersonRecord
from cycle_engine.store.tables.dashboard import SignInUseRecord
from cycle_engine.store.tables.outbox import EMAIL, OutboxRecord

LINK_LIFETIME = timedelta(minutes=15)
MAX_LINKS_PER_WINDOW = 5
SIGNIN_KIND = "signin"
_SALT = "cycle-engine.dashboard.signin"


class SignInRefused(Exception):
    """A sign-in link cannot be used; the message says why, for the person who clicked it."""


@dataclass(frozen=True, kw_only=True)
class SignInClaim:
    """What a valid link says: who, which link, until when."""

    person_id: int
    token_id: str
    expires_at: datetime


def make_token(secret: str, person_id: int, now: datetime) -> tuple[str, SignInClaim]:
    """A new signed token for `person_id`, valid for LINK_LIFETIME from `now`."""
    claim = SignInClaim(
        person_id=person_id, token_id=secrets.token_hex(16), expires_at=now + LINK_LIFETIME
    )
    payload = {"p": person_id, "j": claim.token_id, "e": int(claim.expires_at.timestamp())}
    return str(URLSafeSerializer(secret, salt=_SALT).dumps(payload)), claim


def signin_url(base_url: str, token: str) -> str:
    """The link a person clicks (the token travels as a query value, which logs redact)."""
    return f"{base_url.rstrip('/')}/dashboard/signin/confirm?{urlencode({'token': token})}"


def read_token(secret: str, token: str, now: datetime) -> SignInClaim:
    """The claim inside `token`; raises SignInRefused when tampered with or expired."""
    try:
        payload = URLSafeSerializer(secret, salt=_SALT).loads(token)
    except BadSignature:
        raise SignInRefused("this sign-in link is not valid; ask for a new one") from None
    if not (
        isinstance(payload, dict)
        and isinstance(payload.get("p"), int)
        and isinstance(payload.get("j"), str)
        and isinstance(payload.get("e"), int)
    ):
        raise SignInRefused("this sign-in link is not valid; ask for a new one")
    claim = SignInClaim(
        person_id=payload["p"],
        token_id=payload["j"],
        expires_at=datetime.fromtimestamp(payload["e"], tz=UTC),
    )
    if claim.expires_at <= now:
        raise SignInRefused(
            "this sign-in link has expired (links last 15 minutes); ask for a new one"
        )
    return claim


def use_token(db: Database, secret: str, token: str, now: datetime) -> PersonRecord:
    """Spend a link and return the person it signs in.

    Raises:
        SignInRefused: tampered, expired, already used, or the person has left.
    """
    claim = read_token(secret, token, now)
    try:
        with db.transaction() as session:
            person = session.get(PersonRecord, claim.person_id)
            if person is None or person.left_on is not None:
                raise SignInRefused("this sign-in link is no longer valid; ask for a new one")
            session.add(
                SignInUseRecord(
                    token_id=claim.token_id,
                    person_id=claim.person_id,
                    expires_at=claim.expires_at,
                    used_at=now,
                )
            )
            session.flush()
            return person
    except IntegrityError:
        raise SignInRefused("this sign-in link was already used; ask for a new one") from None


def find_person(session: Session, email: str) -> PersonRecord | None:
    """The current (not departed) person with this address, compared case-insensitively."""
    address = email.strip().lower()
    if not address or "@" not in address or len(address) > 254:
        return None
    person = session.exec(
        select(PersonRecord).where(func.lower(PersonRecord.email) == address)
    ).first()
    return person if person is not None and person.left_on is None else None


def request_link(
    db: Database, clock: Clock, *, secret: str, base_url: str, email: str
) -> OutboxRecord | None:
    """Queue a sign-in email for `email` if it is a current person's address.

    Returns the outbox row, or None when the address is unknown or too many links were asked
    for recently (the page says the same either way).
    """
    now = clock.now()
    with db.transaction() as session:
        person = find_person(session, email)
        if person is None or person.id is None:
            return None
        recent = session.exec(
            select(func.count())
            .select_from(OutboxRecord)
            .where(
                OutboxRecord.person_id == person.id,
                OutboxRecord.kind == SIGNIN_KIND,
                col(OutboxRecord.created_at) > now - LINK_LIFETIME,
            )
        ).one()
        if recent >= MAX_LINKS_PER_WINDOW:
            return None
        token, claim = make_token(secret, person.id, now)
        host = urlsplit(base_url).hostname or "localhost"
        row = OutboxRecord(
            channel=EMAIL,
            kind=SIGNIN_KIND,
            person_id=person.id,
            recipient=person.email,
            language=person.language,
            rule=SIGNIN_KIND,
            dedupe_key=f"signin:{claim.token_id}",
            message_id=f"<signin.{claim.token_id}@{host}>",
            not_before=now,
            next_attempt_at=now,
            created_at=now,
            context={
                "person": {"id": person.id, "name": person.name, "email": person.email},
                "signin_url": signin_url(base_url, token),
                "expires_at": claim.expires_at.isoformat(),
                "minutes": int(LINK_LIFETIME.total_seconds() // 60),
                "timezone": person.timezone,
            },
        )
        session.add(row)
        session.flush()
        return row


def link_for(db: Database, clock: Clock, *, secret: str, base_url: str, email: str) -> str:
    """A sign-in link for `email` without sending mail (the `signin-link` command).

    Raises:
        PersonNotFound: no current person has that address.
    """
    with db.read_session() as session:
        person = find_person(session, email)
    if person is None or person.id is None:
        raise PersonNotFound(email)
    token, _ = make_token(secret, person.id, clock.now())
    return signin_url(base_url, token)
