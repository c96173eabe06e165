"""Whether the server can listen on its port, asked before anything says it is ready.

`make run` and `cycle-engine serve` print the dashboard's address and a sign-in link; on a busy
port they used to print "ready" and then uvicorn's bind error. `serve` asks here first and stops
with one line naming the port and how to choose another.
"""

from __future__ import annotations

import socket


def port_refusal(host: str, port: int) -> str | None:
    """Why the server cannot listen on `host:port` (another process holds it), or None.

    Checked with the options uvicorn binds with (SO_REUSEADDR), so a port in TIME_WAIT passes
    and only a live listener is refused.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return (
                f"cannot listen on {host}:{port}: {exc.strerror or exc} (another server is"
                f" using it?); choose a free port with --port, or `make run PORT=...`"
            )
    return None
