"""A real webhook receiver for tests: an `http.server` on 127.0.0.1 in a background thread that
records every POST and answers with a status the test chooses."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer


class WebhookReceiver(HTTPServer):
    """A real HTTP server on 127.0.0.1 recording every POST (lower-cased headers and the raw
    body); it answers with `status`."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 204

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks"


class _ReceiverHandler(BaseHTTPRequestHandler):
    server: WebhookReceiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        return None


@contextlib.contextmanager
def running_receiver() -> Iterator[WebhookReceiver]:
    """A WebhookReceiver serving from a background thread until the block ends."""
    server = WebhookReceiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
