"""Serving a registry: the Prometheus text for `/metrics`, the bearer-token check, and the small
HTTP server the worker and the sender run on their own port.

The worker and the sender have no web stack, so they serve their registry with the standard
library's WSGI server in a daemon thread (prometheus_client's WSGI app behind a token check),
bound to loopback unless told otherwise: the bind address and the token are the two protections.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.exposition import ThreadingWSGIServer

from cycle_engine.metrics.registry import EngineMetrics

TOKEN_SETTING = "CYCLE_ENGINE_METRICS_TOKEN"
StartResponse = Callable[..., Any]


def authorized(header: str | None, token: str | None) -> bool:
    """Whether an Authorization header carries `token` as a bearer token (any, when no token)."""
    if not token:
        return True
    if not header or not header.lower().startswith("bearer "):
        return False
    return hmac.compare_digest(header[7:].strip().encode(), token.encode())


def exposition(metrics: EngineMetrics) -> tuple[bytes, str]:
    """The registry in the Prometheus text format, and its content type."""
    return generate_latest(metrics.registry), CONTENT_TYPE_LATEST


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not worth a log line each."""


class MetricsServer:
    """Serves `metrics` at `http://host:port/metrics` from a daemon thread.

    Args:
        metrics: the registry to serve.
        host: the address to bind (loopback by default: only this machine may scrape).
        port: the TCP port (0: any free port, see `port` after `start`).
        token: when set, scrapes must send `Authorization: Bearer <token>`.
    """

    def __init__(
        self, metrics: EngineMetrics, *, host: str = "127.0.0.1", port: int, token: str | None
    ) -> None:
        self.metrics = metrics
        self.host = host
        self.port = port
        self.token = token
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def _app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "/") not in ("/metrics", "/metrics/"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"metrics are at /metrics\n"]
        if not authorized(environ.get("HTTP_AUTHORIZATION"), self.token):
            start_response(
                "401 Unauthorized",
                [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")],
            )
            return [b"a bearer token is required\n"]
        body, content_type = exposition(self.metrics)
        start_response("200 OK", [("Content-Type", content_type)])
        return [body]

    def start(self) -> MetricsServer:
        """Bind and serve in the background; returns self (with the bound `port`)."""
        server = make_server(
            self.host,
            self.port,
            self._app,
            server_class=ThreadingWSGIServer,
            handler_class=_QuietHandler,
        )
        self._server = server
        self.port = server.server_port
        self._thread = threading.Thread(
            target=server.serve_forever, name="metrics-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> MetricsServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
