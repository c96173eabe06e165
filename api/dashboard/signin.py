"""Signing in by emailed link: signed, expiring, single use, and silent about who exists.

A link carries `{person, token id, expiry}` signed with the app's secret (itsdangerous); the
expiry is checked against the engine's clock, so tests move time instead of sleeping. Using a
link writes its id to `dashboard_signin_uses` (`engine.alliances.credentials`), whose primary
key refuses a second use even when two browsers race. Opening a link shows a "Sign in" button
that POSTs the token: mail scanners that follow links (GET) cannot burn it.

Asking for a link never says whether the address is known. The email goes through the durable
outbox (kind "signin", queued by `cycle_engine.outbox.signin`), so it reaches SMTP or the
development mailbox like every other notice; at most a few links per person, and a few more per
client (the address a request comes from, kept only as a keyed hash), are queued per
LINK_LIFETIME, so one client cannot flood many inboxes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from itsdangerous import BadSignature, URLSafeSerializer

from cycle_engine.alliances.credentials import Credentials
from cycle_engine.engine import CycleEngine
from cycle_engine.errors import ActionNotAllowed, PersonNotFound
from cycle_engine.outbox.signin import SignInLink
from cycle_engine.store.tables.alliances import PersonRecord
from cycle_engine.store.tables.outbox import OutboxRecord

LINK_LIFETIME = timedelta(minutes=15)
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


def use_token(engine: CycleEngine, secret: str, token: str) -> PersonRecord:
    """Spend a link and return the person it signs in.

    Raises:
        SignInRefused: tampered, expired, already used, or the person has left.
    """
    claim = read_token(secret, token, engine.clock.now())
    try:
        return engine.alliances.credentials.use_signin_link(
            claim.token_id, claim.person_id, claim.expires_at
        )
    except PersonNotFound:
        raise SignInRefused("this sign-in link is no longer valid; ask for a new one") from None
    except ActionNotAllowed:
        raise SignInRefused("this sign-in link was already used; ask for a new one") from None


def client_key(secret: str, address: str | None) -> str | None:
    """An opaque key for the client at `address` (its IP): limits count per client without
    storing where people sign in from."""
    if not address:
        return None
    digest = hmac.new(secret.encode(), f"signin-client:{address}".encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def request_link(
    engine: CycleEngine,
    *,
    secret: str,
    base_url: str,
    email: str,
    client: str | None = None,
) -> OutboxRecord | None:
    """Queue a sign-in email for `email` if it is a current person's address.

    `client` is the asking client's address (see `client_key`). Returns the outbox row, or
    None when the address is unknown or too many links were asked for recently, for the
    person or by the client (the page says the same either way). Whether the email goes out
    is the outbox's decision (`cycle_engine.outbox.signin`).
    """
    now = engine.clock.now()

    def link(person: PersonRecord) -> SignInLink:
        assert person.id is not None
        token, claim = make_token(secret, person.id, now)
        return SignInLink(
            token_id=claim.token_id, url=signin_url(base_url, token), expires_at=claim.expires_at
        )

    return engine.outbox.send_signin_link(email, link, client=client_key(secret, client))


def signin_link(engine: CycleEngine, *, secret: str, base_url: str, email: str) -> str:
    """A sign-in link for `email` without sending mail (the `signin-link` command).

    Raises:
        PersonNotFound: no current person has that address.
    """
    return _link(engine.alliances.credentials, secret=secret, base_url=base_url, email=email)


def _link(credentials: Credentials, *, secret: str, base_url: str, email: str) -> str:
    person = credentials.current_person(email)
    if person is None or person.id is None:
        raise PersonNotFound(email)
    token, _ = make_token(secret, person.id, credentials.clock.now())
    return signin_url(base_url, token)
