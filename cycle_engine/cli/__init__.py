"""The `cycle-engine` command line: one Typer app assembling one sub-app per resource.

Commands import the engine and the store when they run, not when the app is assembled, so
`--help` and usage errors answer without loading SQLAlchemy (see `cli.common`).
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

import cycle_engine.cli.cycle_domain  # adds domain commands to `cycle`
import cycle_engine.cli.following  # noqa: F401  (adds follow commands to `cycle`)
from cycle_engine.cli import alliances, backups, cycles, learning, templates, transfer, worker
from cycle_engine.cli.common import DbOption, database_url, reports_errors
from cycle_engine.cli.failures import DEBUG_SETTING
from cycle_engine.logs import configure_logging
from cycle_engine.plugins import cli_commands

app = typer.Typer(
    help="Run Learning Alliance learning cycles as persisted state machines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(templates.app, name="template")
app.add_typer(cycles.app, name="cycle")
app.add_typer(alliances.alliance_app, name="alliance")
app.add_typer(alliances.org_app, name="org")
app.add_typer(alliances.person_app, name="person")
app.add_typer(learning.app, name="learning")
app.command("worker")(worker.worker)
app.command("backup")(backups.backup)
app.command("restore")(backups.restore)
app.add_typer(transfer.app, name="export")
app.command("import")(transfer.import_)


@app.callback()
def options(
    debug: Annotated[
        bool,
        typer.Option("--debug", help="Show the traceback of a failure (or CYCLE_ENGINE_DEBUG=1)."),
    ] = False,
) -> None:
    """Run Learning Alliance learning cycles as persisted state machines."""
    if debug:
        os.environ[DEBUG_SETTING] = "1"
    try:
        configure_logging("DEBUG" if debug else "WARNING")
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


for register in cli_commands():  # `serve`, `key`, `signin-link`, `mail`: installed packages
    register(app)


SchemaOption = Annotated[
    str | None,
    typer.Option(
        "--schema",
        envvar="CYCLE_ENGINE_DATABASE_SCHEMA",
        help="PostgreSQL schema for the engine's tables and version table (default: the "
        "search path).",
        show_default=False,
    ),
]


def _where(url: str, schema: str | None) -> str:
    return url if schema is None else f"{url} (schema {schema})"


@app.command()
@reports_errors
def init(
    db: DbOption = None,
    schema: SchemaOption = None,
    builtins: Annotated[bool, typer.Option(help="Publish the built-in templates.")] = True,
) -> None:
    """Create (or upgrade) the database schema and publish the built-in templates."""
    from cycle_engine.engine import CycleEngine  # imported on use: `--help` stays fast
    from cycle_engine.store.schema import upgrade

    url = database_url(db)
    upgrade(url, schema=schema)
    if builtins:
        with CycleEngine(url, schema=schema) as engine:
            for published in engine.publish_builtin_templates():
                typer.echo(f"template {published.key} v{published.version}")
    typer.echo(f"database ready: {_where(url, schema)}")


@app.command()
@reports_errors
def migrate(db: DbOption = None, schema: SchemaOption = None) -> None:
    """Upgrade the database schema to this engine's version."""
    from cycle_engine.store.schema import upgrade  # imported on use: `--help` stays fast

    url = database_url(db)
    upgrade(url, schema=schema)
    typer.echo(f"schema up to date: {_where(url, schema)}")


@app.command()
@reports_errors
def demo(db: DbOption = None) -> None:
    """Seed a demo alliance and walk a cycle through its stages, printing what happens."""
    from cycle_engine.demo import run_demo  # imported on use: `--help` stays fast

    run_demo(database_url(db), typer.echo)


def main() -> None:
    app()
