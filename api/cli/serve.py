"""`cycle-engine serve`: run the REST API on uvicorn, with the scheduler in the same process and
the outbox sender in a child process of its own (`--sender-in-process` keeps it in this one),
unless told not to. The app's engine carries the installed host plugins'
guards, listeners and subscribers (`cycle_engine.plugins`, limited by `CYCLE_ENGINE_PLUGINS`),
like the CLI's and the worker's. Its metrics are at `/metrics` (behind the metrics token) and, with
`--metrics-port`, on a listener of their own bound to `--metrics-host`. The web modules are
imported only inside the command, so the rest of the CLI starts without FastAPI."""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cycle_engine.cli.common import DbOption, fail, open_engine, reports_errors
from cycle_engine.cli.metrics import MetricsHostOption, MetricsPortOption, metrics_server
from cycle_engine.logs import configure_logging

if TYPE_CHECKING:
    from cycle_engine.metrics.collector import Section

ALL_SECTIONS: tuple[Section, ...] = ("timers", "outbox", "cycles")
#: Seconds a thread running Python may keep the interpreter lock while another waits for it
#: (CPython's default is 0.005). Dashboard pages and the scheduler's work run in threads beside
#: the event loop, which gives the lock up at every read and write and must win it back each
#: time: at 5 ms a turn a busy page thread made `/healthz` wait tens of milliseconds. A tenth
#: of that keeps the loop's waits short at the cost of more, cheap, hand-overs.
SWITCH_INTERVAL = 0.0005


@reports_errors
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    db: DbOption = None,
    no_worker: Annotated[bool, typer.Option("--no-worker", help="Do not run timers here.")] = False,
    no_sender: Annotated[bool, typer.Option("--no-sender", help="Do not send mail here.")] = False,
    sender_process: Annotated[
        bool | None,
        typer.Option(
            "--sender-process/--sender-in-process",
            help="Send mail from a child process (the default; CYCLE_ENGINE_SENDER_PROCESS) "
            "or in the API's own process.",
            show_default=False,
        ),
    ] = None,
    secret_file: Annotated[
        Path | None,
        typer.Option(
            help="Read the secret key from this file, creating a random one if it is missing.",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
    metrics_port: MetricsPortOption = None,
    metrics_host: MetricsHostOption = "127.0.0.1",
) -> None:
    """Serve the REST API (OpenAPI at /docs) and print its URL."""
    import uvicorn

    from cycle_engine.api import Settings, create_app
    from cycle_engine.api.listening import port_refusal
    from cycle_engine.api.settings import secret_from_file
    from cycle_engine.metrics import EngineMetrics

    overrides: dict[str, object] = {}
    if db is not None:
        overrides["database_url"] = db
    if secret_file is not None:
        overrides["secret_key"] = secret_from_file(secret_file)
    if no_worker:
        overrides["run_worker"] = False
    if no_sender:
        overrides["run_sender"] = False
    if sender_process is not None:
        overrides["sender_process"] = sender_process
    elif "CYCLE_ENGINE_SENDER_PROCESS" not in os.environ:
        # Its own process by default: the sender's Python work then never holds the
        # interpreter lock the API's event loop needs (`notifications.process`).
        overrides["sender_process"] = True
    url = f"http://{host}:{port}"
    if "CYCLE_ENGINE_BASE_URL" not in os.environ:
        overrides["base_url"] = url
    settings = Settings.from_env(**overrides)
    # One line per event, with the request id (CYCLE_ENGINE_LOG_FORMAT=json for JSON lines);
    # APScheduler's ticks and uvicorn's own lines go through the same handler.
    configure_logging(log_level)
    metrics = EngineMetrics("serve")
    # Opened here, not in the lifespan, so a missing, old or too-new schema ends the command
    # with its one-line reason before the server starts.
    with (
        open_engine(
            settings.database_url,
            schema=settings.database_schema,
            data_dir=Path(settings.data_dir),
            subscribers=[metrics.subscriber],
        ) as engine,
        metrics_server(metrics, engine, metrics_host, metrics_port, sections=ALL_SECTIONS),
    ):
        app = create_app(settings, engine=engine, metrics=metrics)
        refusal = port_refusal(host, port)
        if refusal is not None:  # one clear line, before anything says the server is ready
            raise fail(refusal)
        typer.echo(f"Cycle Engine: {url}/dashboard/  API: {url}/api/v1  (docs: {url}/docs)")
        sys.setswitchinterval(SWITCH_INTERVAL)
        # What start-up made (modules, templates, the app) lives as long as the process: kept
        # out of the collector, a full collection no longer walks it while holding the loop;
        # fewer, later young collections (a page allocates tens of thousands of objects).
        # bench.event_loop --smoke, /healthz p99 under pages and mail: 244-260 ms with
        # neither, 47-57 ms frozen, 13-14 ms with both.
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 10)
        uvicorn.run(
            app, host=host, port=port, log_level=log_level, access_log=False, log_config=None
        )
