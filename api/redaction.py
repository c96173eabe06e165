"""Credentials out of logs: the tokens that email and sign-in links carry (valid for days to a
year) in query values (`?t=`, `?token=`) and path segments (the calendar feed's
`/email/calendar/<token>.ics`) appear as `***` in every line the API logs about a request (the
access log, and the warnings and errors `problems` logs).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode

_SECRET_WORDS = ("token", "key", "secret", "sig", "password", "auth", "session", "code")
#: Query parameters that carry credentials whatever their value looks like (`t`: email links).
_SECRET_PARAMS = frozenset({"t"})
#: Path segments that are credentials: after these prefixes, and any signed token (itsdangerous:
#: base64url parts joined by dots) however it got into a path.
_SECRET_AFTER = ("/email/calendar/",)
_SIGNED = re.compile(r"^[A-Za-z0-9_=-]{6,}(\.[A-Za-z0-9_=-]{6,})+$")


def redacted_query(raw: bytes) -> str:
    """The query string with the values of credential-bearing parameters replaced by ***."""
    if not raw:
        return ""
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    safe = [(k, "***" if _secret_param(k, v) else v) for k, v in pairs]
    return "?" + urlencode(safe, safe="*")


def _secret_param(name: str, value: str) -> bool:
    lowered = name.lower()
    return (
        lowered in _SECRET_PARAMS
        or any(word in lowered for word in _SECRET_WORDS)
        or _SIGNED.match(value) is not None
    )


def redacted_path(path: str) -> str:
    """`path` with credential segments (see the module docstring) replaced by ***."""
    for prefix in _SECRET_AFTER:
        if prefix in path:
            head, _, tail = path.partition(prefix)
            segment, slash, rest = tail.partition("/")
            suffix = ".ics" if segment.endswith(".ics") else ""
            path = f"{head}{prefix}***{suffix}{slash}{rest}"
    parts = path.split("/")
    return "/".join("***" if _SIGNED.match(part.removesuffix(".ics")) else part for part in parts)
