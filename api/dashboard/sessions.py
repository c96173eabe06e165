"""Browser sessions of the dashboard: a signed cookie naming a server-side session row.

The cookie carries a random session key, signed with the app's secret (itsdangerous) so a
tampered cookie is refused before any database read. The row (`engine.alliances.credentials`),
keyed by the key's SHA-256, says whose session it is and until when; signing out ends the row,
so a copied cookie stops working at once. Cookies are HttpOnly and SameSite=Lax, and Secure when
the base URL is https.

Visitors who are not signed in get a `visitor` cookie with a random nonce instead: it binds the
CSRF token of the sign-in form (see csrf.py), so even that form cannot be posted cross-site.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.responses import Response

SESSION_COOKIE = "ce_session"
VISITOR_COOKIE = "ce_visitor"
SESSION_LIFETIME = timedelta(hours=12)
VISITOR_LIFETIME = timedelta(days=1)
#: Write `last_seen_at` at most this often per session (reads stay reads).
SEEN_RESOLUTION = timedelta(minutes=5)


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

    def set(
        self, response: Response, name: str, value: str, max_age: timedelta, *, path: str
    ) -> None:
        """Set a signed cookie for the dashboard at `path` (its mount prefix included)."""
        response.set_cookie(
            name,
            self.sign(name, value),
            max_age=int(max_age.total_seconds()),
            path=path,
            httponly=True,
            samesite="lax",
            secure=self.secure,
        )

    def clear(self, response: Response, name: str, *, path: str) -> None:
        response.delete_cookie(name, path=path, httponly=True, samesite="lax", secure=self.secure)
