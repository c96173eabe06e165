"""CSRF protection for every form of the dashboard: a per-session token checked on each POST.

The token is an HMAC of the session key (or, before sign-in, of the visitor nonce) under the
app's secret, so it needs no storage, differs per session, and a page on another site can
neither read nor forge it. Forms carry it in a hidden `csrf_token` field; htmx requests send it
in the `X-CSRF-Token` header (set once on `<body hx-headers=...>`). SameSite=Lax cookies are a
second wall, not the only one.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request

FIELD = "csrf_token"
HEADER = "x-csrf-token"


class CsrfRefused(Exception):
    """A POST came without the right token; the message says what to do."""


def csrf_token(secret: str, binding: str) -> str:
    """The token for the session (or visitor) `binding`."""
    mac = hmac.new(secret.encode("utf-8"), f"csrf:{binding}".encode(), hashlib.sha256)
    return mac.hexdigest()


async def check_csrf(request: Request, secret: str, binding: str | None) -> None:
    """Refuse a POST whose token (form field or header) does not match its session.

    Raises:
        CsrfRefused: no session or visitor cookie, no token, or a token of another session.
    """
    if binding is None:
        raise CsrfRefused("this form has expired or cookies are off; reload the page and retry")
    sent = request.headers.get(HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(FIELD)
        sent = value if isinstance(value, str) else None
    if not sent:
        raise CsrfRefused("the form carried no security token; reload the page and retry")
    if not hmac.compare_digest(sent, csrf_token(secret, binding)):
        raise CsrfRefused(
            "the form's security token does not match your session; reload the page and retry"
        )
