"""The real app over HTTP in tests: uvicorn in a thread, on a loopback port bound before the
app is built (so its settings can carry the server's own URL).

The listening socket sets TCP_NODELAY, which accepted connections inherit: without it every
keep-alive request waits about 40 ms for the client's delayed ACK (Nagle), which made each
request in the suite some twenty times slower than the server is.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any

import httpx
import uvicorn


def loopback_socket() -> socket.socket:
    """A TCP socket bound to a free port on 127.0.0.1, with Nagle's algorithm off."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    listener.bind(("127.0.0.1", 0))
    return listener


class LoopbackServer:
    """uvicorn serving the app `build(url)` returns, in a daemon thread, until `__exit__`."""

    def __init__(self, build: Callable[[str], Any], *, lifespan: str = "on") -> None:
        self.socket = loopback_socket()
        self.port: int = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = build(self.url)
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan=lifespan,  # type: ignore[arg-type]
            ws="none",
            timeout_graceful_shutdown=5,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )
        self.clients: list[httpx.Client] = []

    def client(self, **options: Any) -> httpx.Client:
        """An httpx client for this server, closed when the server stops."""
        client = httpx.Client(base_url=self.url, timeout=30, **options)
        self.clients.append(client)
        return client

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                self.socket.close()
                raise RuntimeError("the server failed to start")
            self.thread.join(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        for client in self.clients:
            client.close()
        self.server.should_exit = True
        self.thread.join(10)
        self.socket.close()
