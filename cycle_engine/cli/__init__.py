"""The `cycle-engine` command line: one Typer app assembling one sub-app per resource."""

from __future__ import annotations

from typing import Annotated

import typer

import cycle_engine.cli.cycle_domain  # noqa: F401  (adds domain commands to `cycle`)
from cycle_engine.cli import alliances, cycles, keys, serve, signin, templates, worker
from cycle_engine.cli.common import DbOption, database_url, reports_errors
from cycle_engine.store.schema import upgrade

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
app.add_typer(keys.app, name="key")
app.command("serve")(serve.serve)
app.command("worker")(worker.worker)


def _add_mail_commands() -> None:
    """`mail` lives in the notifications package; the CLI is the composition root (like
    `serve` for the API), so it imports it here, while the core library never does."""
    from cycle_engine.notifications.cli import app as mail_app

    app.add_typer(mail_app, name="mail")


_add_mail_commands()
app.command("signin-link")(signin.signin_link)


@app.command()
@reports_errors
def init(
    db: DbOption = None,
    builtins: Annotated[bool, typer.Option(help="Publish the built-in templates.")] = True,
) -> None:
    """Create (or upgrade) the database schema and publish the built-in templates."""
    from cycle_engine.engine import CycleEngine

    url = database_url(db)
    upgrade(url)
    if builtins:
        with CycleEngine(url) as engine:
            for published in engine.publish_builtin_templates():
                typer.echo(f"template {published.key} v{published.version}")
    typer.echo(f"database ready: {url}")


@app.command()
@reports_errors
def migrate(db: DbOption = None) -> None:
    """Upgrade the database schema to this engine's version."""
    url = database_url(db)
    upgrade(url)
    typer.echo(f"schema up to date: {url}")


@app.command()
@reports_errors
def demo(db: DbOption = None) -> None:
    """Seed a demo alliance and walk a cycle through its stages, printing what happens."""
    from cycle_engine.demo import run_demo

    run_demo(database_url(db), typer.echo)


def main() -> None:
    app()
