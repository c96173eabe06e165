"""What every HTTP request carries for the operator: a request id, a log context, and a latency
sample for its route.

`RequestContextMiddleware` is the outermost middleware. It takes the request id a reverse proxy
sent (`X-Request-ID`, when it looks like one) or makes one, binds it to the log context (so every
line logged while handling the request carries it, the access log's included), returns it in the
response's `X-Request-ID` header, and leaves it where problem bodies and the dashboard's error
page read it (`cycle_engine.logs.request_id()`). It times the request per route template
(`/api/v1/cycles/{cycle_id}`, never the raw path, so the metric's labels stay few) into the app's
`EngineMetrics`. `bind_path_context` adds the cycle and alliance a path names. An error nothing
else handled is logged once, with its traceback and the request id, and answered here as a 500
problem that carries the id, so even that answer has the header. `GET /metrics` serves the app's
`EngineMetrics` to a scraper holding the metrics token.
"""

from __future__ import annotations

import logging
import random
import re
import time

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cycle_engine.api.deps import SettingsDep
from cycle_engine.api.problems import ApiProblem, problem_response
from cycle_engine.api.redaction import redacted_path
from cycle_engine.logs import bind, unbind
from cycle_engine.metrics import EngineMetrics, authorized, exposition

log = logging.getLogger("cycle_engine.api")
HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"[A-Za-z0-9._:\-]{8,100}")
metrics_router = APIRouter(tags=["metrics"])


def _incoming_id(scope: Scope) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == b"x-request-id":
            text = bytes(value).decode("latin-1").strip()
            return text if _VALID_ID.fullmatch(text) else None
    return None


async def bind_path_context(request: Request) -> None:
    """An app-wide dependency: the request's cycle and alliance (from the path) join the log
    context for the rest of the request. Async, so it runs in the request's own task and what it
    binds is seen by the handler (thread pool included) and by the request's access log line;
    the middleware's reset at the end of the request drops it."""
    params = request.path_params
    bind(cycle_id=params.get("cycle_id"), alliance=params.get("alliance_id"))


def route_of(scope: Scope) -> str:
    """The template of the route that answered (`/api/v1/cycles/{cycle_id}`), or "unmatched".

    A route of an included router may carry only its own part of the template (its router's
    prefix is not in it), so the prefix is read off the request's path: the shortest tail of
    the path that the route's pattern matches is the route's, what comes before it the prefix.
    """
    route = scope.get("route")
    path, pattern = getattr(route, "path", None), getattr(route, "path_regex", None)
    if not isinstance(path, str):
        return "unmatched"
    parts = str(scope.get("path", "")).split("/")
    for cut in range(1, len(parts)):
        if pattern is None or pattern.match("/" + "/".join(parts[cut:])):
            return "/".join(parts[:cut]) + path if pattern is not None else path
    return path


class RequestContextMiddleware:
    """Request id, log context, `X-Request-ID`, latency per route, and the last-resort 500."""

    def __init__(self, app: ASGIApp, *, metrics: EngineMetrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # 32 hex digits as before: an id must be unique, not secret, and this draw is cheaper
        request_id = _incoming_id(scope) or f"{random.getrandbits(128):032x}"
        scope.setdefault("state", {})["request_id"] = request_id
        token = bind(request_id=request_id)
        started = time.perf_counter()
        status = 500
        responded = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status, responded = int(message["status"]), True
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as error:
            if responded:
                raise
            log.error(
                "unhandled error on %s %s",
                scope["method"],
                redacted_path(scope["path"]),
                exc_info=error,
            )
            response = problem_response(500, "the server failed to handle this request")
            await response(scope, receive, send_with_id)
        finally:
            if self.metrics is not None:
                elapsed = time.perf_counter() - started
                self.metrics.observe_request(scope["method"], route_of(scope), status, elapsed)
            unbind(token)


@metrics_router.get("/metrics", include_in_schema=False)
def metrics(request: Request, settings: SettingsDep) -> Response:
    """The process's Prometheus metrics (`app.state.metrics`: its counters, and the gauges read
    from the database at each scrape) for a scraper sending the metrics token; 401 without it,
    404 when no token is set (then only a `--metrics-port` listener, protected by the address
    it binds, serves them). A plain `def`: the gauges read the database, in the thread pool."""
    if not settings.metrics_token:
        raise ApiProblem(
            404, "metrics are off here: set CYCLE_ENGINE_METRICS_TOKEN, or use --metrics-port"
        )
    if not authorized(request.headers.get("authorization"), settings.metrics_token):
        problem = ApiProblem(401, "send the metrics token as `Authorization: Bearer ...`")
        problem.headers["WWW-Authenticate"] = "Bearer"
        raise problem
    registry: EngineMetrics = request.app.state.metrics
    body, content_type = exposition(registry)
    return Response(body, media_type=content_type)
