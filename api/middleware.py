"""Pure-ASGI middlewares every request passes: a body size limit, a refusal of NUL characters
in the path and query (no database stores them), and a request log.

The size limit refuses a declared Content-Length over the limit before reading anything, and
stops a chunked body as soon as it passes the limit (uploads, sent as multipart/form-data, get
their own larger limit). The request log records method, path, status, time and the key's public
prefix, never a credential: not the Authorization header, and not the tokens that email and
sign-in links carry (valid for days to a year) in query values (`?t=`, `?token=`) and path
segments (the calendar feed's `/email/calendar/<token>.ics`), which appear as `***`.
"""

from __future__ import annotations

import logging
import time

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cycle_engine.api.problems import problem_response
from cycle_engine.api.redaction import redacted_path, redacted_query

access_log = logging.getLogger("cycle_engine.api.access")


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


class BodyLimitMiddleware:
    """413 for bodies over `max_body_bytes` (`max_upload_bytes` for multipart uploads)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        content_type = _header(scope, b"content-type") or b""
        upload = content_type.lower().startswith(b"multipart/form-data")
        limit = self.max_upload_bytes if upload else self.max_body_bytes
        declared = _header(scope, b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                size = -1
            if size < 0:
                await problem_response(400, "Content-Length is not a number")(scope, receive, send)
                return
            if size > limit:
                await self._refuse(limit, scope, receive, send)
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, f"the request body is larger than {limit} bytes")
            return message

        await self.app(scope, limited_receive, send)

    @staticmethod
    async def _refuse(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413, f"the request body is larger than {limit} bytes", limit=limit
        )
        await response(scope, receive, send)


class NulRefusalMiddleware:
    """422 for a NUL character anywhere in the path or the query string, before any route: no
    database stores one (PostgreSQL refuses it, SQLite keeps it), and no name or key has one.
    Bodies are checked by their schemas (`api.fields`) and the dashboard's form reader."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = bytes(scope.get("query_string", b"")).lower()
            if "\x00" in scope["path"] or b"%00" in query or b"\x00" in query:
                response = problem_response(
                    422, "the path or the query contains a NUL character", field="url"
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class RequestLogMiddleware:
    """One log line per request, without secrets."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        logged = False

        def log_line() -> None:
            nonlocal logged
            logged = True
            state = scope.get("state") or {}
            access_log.info(
                "%s %s%s %d %.1fms key=%s",
                scope["method"],
                redacted_path(scope["path"]),
                redacted_query(scope.get("query_string", b"")),
                status,
                (time.perf_counter() - started) * 1000,
                state.get("key_prefix", "-"),
            )

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                log_line()  # before the last byte leaves, so the line exists when the client has it
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            if not logged:
                log_line()
