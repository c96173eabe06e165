"""The server's commands (`serve`, `signin-link`, `key`), plugged into `cycle-engine` through the
`cycle_engine.cli` entry-point group, so the core CLI runs without the web stack."""

from __future__ import annotations

import typer

from cycle_engine.api.cli import keys, serve, signin


def register(app: typer.Typer) -> None:
    """Add the server's commands to the `cycle-engine` app."""
    app.command("serve")(serve.serve)
    app.command("signin-link")(signin.signin_link)
    app.add_typer(keys.app, name="key")
