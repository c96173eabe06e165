"""Conditional GETs: every JSON answer of the API carries an `ETag`, and `If-None-Match` with a
current one answers `304 Not Modified` without the body.

A resource with a version keeps the ETag its route sets (a cycle's is its version, the one
`If-Match` compares); every other answer gets a strong ETag from its body's SHA-256, which
changes exactly when anything in it changes (a correction, a new row on a page). This is
pure ASGI: the body of a JSON GET under the API is held until complete (answers are small and
paged), file downloads and other media pass through untouched.
"""

from __future__ import annotations

import hashlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cycle_engine.api.openapi import API_PREFIX


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def _matches(if_none_match: bytes, etag: bytes) -> bool:
    """RFC 9110 weak comparison: any listed tag (W/ or not), or `*`."""
    tags = [t.strip() for t in if_none_match.split(b",")]
    bare = etag.removeprefix(b"W/")
    return any(t == b"*" or t.removeprefix(b"W/") == bare for t in tags)


class ConditionalGetMiddleware:
    """ETags on JSON GET answers under the API, and 304 for a matching If-None-Match."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or not str(scope.get("path", "")).startswith(API_PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        condition = _header(list(scope.get("headers", ())), b"if-none-match")
        start: Message | None = None
        chunks: list[bytes] = []
        passing = False

        async def hold(message: Message) -> None:
            nonlocal start, passing
            if passing:
                await send(message)
                return
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                kind = _header(headers, b"content-type") or b""
                if message["status"] != 200 or not kind.startswith(b"application/json"):
                    passing = True
                    await send(message)
                    return
                start = message
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            assert start is not None
            body = b"".join(chunks)
            headers = [(k, v) for k, v in start.get("headers", ())]
            etag = _header(headers, b"etag")
            if etag is None:
                etag = b'"' + hashlib.sha256(body).hexdigest()[:32].encode() + b'"'
                headers.append((b"etag", etag))
            if condition is not None and _matches(condition, etag):
                kept = [
                    (k, v)
                    for k, v in headers
                    if k.lower() not in (b"content-length", b"content-type")
                ]
                await send({"type": "http.response.start", "status": 304, "headers": kept})
                await send({"type": "http.response.body", "body": b""})
                return
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, hold)
