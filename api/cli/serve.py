"""`cycle-engine serve`: run the REST API on uvicorn, with the scheduler and the outbox sender
in the same process unless told not to. The app's engine carries the installed host plugins'
guards, listeners and subscribers (`cycle_engine.plugins`, limited by `CYCLE_ENGINE_PLUGINS`),
like the CLI's and the worker's. The web modules are imported only inside the command, so the
rest of the CLI starts without FastAPI."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer

from cycle_engine.cli.common import DbOption, open_engine, reports_errors


@reports_errors
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    db: DbOption = None,
    no_worker: Annotated[bool, typer.Option("--no-worker", help="Do not run timers here.")] = False,
    no_sender: Annotated[bool, typer.Option("--no-sender", help="Do not send mail here.")] = False,
    secret_file: Annotated[
        Path | None,
        typer.Option(
            help="Read the secret key from this file, creating a random one if it is missing.",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Serve the REST API (OpenAPI at /docs) and print its URL."""
    import uvicorn

    from cycle_engine.api import Settings, create_app
    from cycle_engine.api.settings import secret_from_file

    overrides: dict[str, object] = {}
    if db is not None:
        overrides["database_url"] = db
    if secret_file is not None:
        overrides["secret_key"] = secret_from_file(secret_file)
    if no_worker:
        overrides["run_worker"] = False
    if no_sender:
        overrides["run_sender"] = False
    url = f"http://{host}:{port}"
    if "CYCLE_ENGINE_BASE_URL" not in os.environ:
        overrides["base_url"] = url
    settings = Settings.from_env(**overrides)
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # APScheduler logs every tick at INFO; keep the server's log about requests and problems.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.getLogger().level))
    # Opened here, not in the lifespan, so a missing, old or too-new schema ends the command
    # with its one-line reason before the server starts.
    with open_engine(
        settings.database_url, schema=settings.database_schema, data_dir=Path(settings.data_dir)
    ) as engine:
        app = create_app(settings, engine=engine)
        typer.echo(f"Cycle Engine: {url}/dashboard/  API: {url}/api/v1  (docs: {url}/docs)")
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
