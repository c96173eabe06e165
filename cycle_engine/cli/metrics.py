"""What the long-running commands share to export metrics: the `--metrics-port` and
`--metrics-host` options and the server they start.

`cycle-engine worker` and `cycle-engine mail send --forever` run without a web stack, so each
serves its own registry on its own port (`cycle_engine.metrics.MetricsServer`), bound to loopback
unless `--metrics-host` says otherwise, and behind `CYCLE_ENGINE_METRICS_TOKEN` when it is set.
Without `--metrics-port` nothing listens.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from cycle_engine.errors import InvalidInput
from cycle_engine.logs import register_secret

if TYPE_CHECKING:
    from cycle_engine.engine import CycleEngine
    from cycle_engine.metrics import EngineMetrics
    from cycle_engine.metrics.collector import Section

TOKEN_SETTING = "CYCLE_ENGINE_METRICS_TOKEN"

MetricsPortOption = Annotated[
    int | None,
    typer.Option(
        "--metrics-port",
        min=0,
        max=65535,
        help="Serve Prometheus metrics on this port at /metrics (0: any free port).",
        show_default=False,
    ),
]
MetricsHostOption = Annotated[
    str,
    typer.Option(
        "--metrics-host",
        help="Address the metrics port binds (loopback: only this machine may scrape).",
    ),
]


def metrics_token() -> str | None:
    """$CYCLE_ENGINE_METRICS_TOKEN, if set: scrapes must send it as a bearer token.

    Raises InvalidInput for a placeholder or a token shorter than 16 characters.
    """
    token = os.environ.get(TOKEN_SETTING, "").strip() or None
    if token is not None and (token.lower().startswith("change") or len(token) < 16):
        raise InvalidInput(
            TOKEN_SETTING, "is a placeholder or shorter than 16 characters; set a random one"
        )
    register_secret(token)
    return token


@contextmanager
def metrics_server(
    metrics: EngineMetrics,
    engine: CycleEngine,
    host: str,
    port: int | None,
    *,
    sections: tuple[Section, ...],
) -> Iterator[None]:
    """While inside: `metrics` (with `engine`'s gauges of `sections`) served on `host:port`,
    announced on stderr; nothing when `port` is None."""
    if port is None:
        yield
        return
    from cycle_engine.metrics import MetricsServer  # imported on use: `--help` stays fast

    metrics.watch(engine, sections)
    with MetricsServer(metrics, host=host, port=port, token=metrics_token()) as server:
        typer.echo(f"metrics at http://{host}:{server.port}/metrics", err=True)
        yield
