"""`cycle-engine signin-link EMAIL`: print a dashboard sign-in link without sending mail.

For the operator of a fresh install (and `make run`, which prints one for the demo manager):
the link is signed with the same secret as `serve` (`--secret-file` or the environment), so it
opens a session on that server. Like every link, it expires in 15 minutes and works once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from cycle_engine.cli.common import DbOption, database_url, fail, open_engine, reports_errors


@reports_errors
def signin_link(
    email: Annotated[str | None, typer.Argument(help="The person's email address.")] = None,
    manager: Annotated[
        bool,
        typer.Option(
            "--manager",
            help="Use the first alliance's manager instead of an EMAIL (the demo's).",
        ),
    ] = False,
    db: DbOption = None,
    secret_file: Annotated[
        Path | None,
        typer.Option(
            help="The secret key file `serve` uses (created with a random key if missing).",
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            help="The server's address (default: $CYCLE_ENGINE_BASE_URL or http://127.0.0.1:8000).",
        ),
    ] = None,
) -> None:
    """Print a sign-in link for the dashboard."""
    from cycle_engine.api.dashboard.signin import signin_link as make_signin_link
    from cycle_engine.api.settings import Settings, secret_from_file

    overrides: dict[str, object] = {"database_url": database_url(db)}
    if secret_file is not None:
        overrides["secret_key"] = secret_from_file(secret_file)
    if base_url is not None:
        overrides["base_url"] = base_url
    elif "CYCLE_ENGINE_BASE_URL" not in os.environ:
        overrides["base_url"] = "http://127.0.0.1:8000"
    settings = Settings.from_env(**overrides)
    with open_engine(settings.database_url) as engine:
        if email is None:
            if not manager:
                raise fail("give an EMAIL, or --manager for the first alliance's manager")
            managers = (
                person.email
                for alliance in engine.alliances.list_alliances()
                if alliance.id is not None
                for person in engine.alliances.people_with_role(alliance.id, "manager")
            )
            email = next(managers, None)
            if email is None:
                raise fail("no alliance has a manager yet (run `cycle-engine demo` first)")
        link = make_signin_link(
            engine,
            secret=settings.secret_key,
            base_url=settings.base_url,
            email=email,
        )
    typer.echo(f"Dashboard: {settings.base_url.rstrip('/')}/dashboard/")
    typer.echo(f"Sign in as {email} (valid 15 minutes, once): {link}")
