"""Browser sessions of the dashboard: a signed cookie naming a server-side session row.

The cookie carries a random session key, signed with the app's secret (itsdangerous) so a
tampered cookie is refused before any database read. The row, keyed by the key's SHA-256,
says whose session it is and until when; signing out ends the row, so a copied cookie stops
working at once. Cookies are HttpOnly and SameSite=Lax, and Secure when the base URL is https.

Visitors who are not signed in get a `visitor` cookie with a random nonce instead: it binds the
CSRF token of the sign-in form (see csrf.py), so even that form cannot be posted cross-site.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.responses import Response

from cycle_engine.clock import Clock
from cycle_engine.store.db import Database
from cycle_engine.store.tables.dashboard import DashboardSessionRecord

SESSION_COOKIE = "ce_session"
VISITOR_COOKIE = "ce_visitor"
SESSION_LIFETIME = timedelta(hours=12)
VISITOR_LIFETIME = timedelta(days=1)
#: Write `last_seen_at` at most this often per session (reads stay reads).
SEEN_RESOLUTION = timedelta(minutes=5)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True, kw_only=True)
class CookieSettings:
    """How cookies are signed and flagged."""

    secret: str
    secure: bool

    @classmethod
    def for_base_url(cls, secret: str, base_url: str) -> CookieSettings:
        return cls(secret=secret, secure=base_url.lower().startswith("https://"))

    def _signer(self, purpose: str) -> URLSafeSerializer:
        return URLSafeSerializer(self.secret, salt=f"cycle-engine.dashboard.{purpose}")

    def sign(self, purpose: str, value: str) -> str:
        return str(self._signer(purpose).dumps(value))

    def unsign(self, purpose: str, signed: str | None) -> str | None:
        """The value inside a cookie signed for `purpose`, or None when absent or tampered."""
        if not signed:
            return None
        try:
            value = self._signer(purpose).loads(signed)
        except BadSignature:
            return None
        return value if isinstance(value, str) and value else None

    def set(self, response: Response, name: str, value: str, max_age: timedelta) -> None:
        response.set_cookie(
            name,
            self.sign(name, value),
            max_age=int(max_age.total_seconds()),
            path="/",
            httponly=True,
            samesite="lax",
            secure=self.secure,
        )

    def clear(self, response: Response, name: str) -> None:
        response.delete_cookie(name, path="/", httponly=True, samesite="lax", secure=self.secure)


def start_session(db: Database, clock: Clock, person_id: int) -> str:
    """A new session for `person_id`; returns the key to put (signed) in the cookie."""
    key = secrets.token_urlsafe(32)
    now = clock.now()
    with db.transaction() as session:
        session.add(
            DashboardSessionRecord(
                key_hash=key_hash(key),
                person_id=person_id,
                created_at=now,
                expires_at=now + SESSION_LIFETIME,
                last_seen_at=now,
            )
        )
    return key


def find_session(db: Database, now: datetime, key: str) -> DashboardSessionRecord | None:
    """The live session for `key`, or None when unknown, expired or signed out."""
    with db.read_session() as session:
        record = session.get(DashboardSessionRecord, key_hash(key))
    if record is None or record.ended_at is not None or record.expires_at <= now:
        return None
    if now - record.last_seen_at >= SEEN_RESOLUTION:
        with db.transaction() as session:
            stored = session.get(DashboardSessionRecord, record.key_hash)
            if stored is not None:
                stored.last_seen_at = now
                session.add(stored)
    return record


def end_session(db: Database, now: datetime, key: str) -> bool:
    """Sign a session out; True when it was live."""
    with db.transaction() as session:
        record = session.get(DashboardSessionRecord, key_hash(key))
        if record is None or record.ended_at is not None:
            return False
        record.ended_at = now
        session.add(record)
        return True
