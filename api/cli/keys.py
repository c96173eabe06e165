"""`cycle-engine key create|list|revoke`: API keys for the REST API.

A key's token is printed once, at creation; only its hash is stored. Roles: admin (everything),
coordinator or manager of one alliance, partner for one organisation.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cycle_engine.cli.common import (
    DbOption,
    JsonOption,
    open_engine,
    print_json,
    reports_errors,
    when,
)

app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)


@app.command()
@reports_errors
def create(
    name: Annotated[str, typer.Option(help="Who holds the key.")],
    role: Annotated[str, typer.Option(help="admin, coordinator, manager or partner.")],
    alliance: Annotated[
        int | None, typer.Option(help="Alliance id (coordinator, manager).")
    ] = None,
    organisation: Annotated[int | None, typer.Option(help="Organisation id (partner).")] = None,
    replace: Annotated[bool, typer.Option(help="Revoke active keys with this name first.")] = False,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Create a key and print its token (the only time it is shown)."""
    with open_engine(db) as engine:
        credentials = engine.alliances.credentials
        if replace:
            for old in credentials.keys(include_revoked=False):
                if old.name == name.strip():
                    credentials.revoke_key(old.prefix)
                    typer.echo(f"revoked earlier key {old.prefix} ({old.name})", err=True)
        created = credentials.create_key(
            name=name,
            role=role,
            alliance_id=alliance,
            organisation_id=organisation,
        )
    record = created.record
    if json:
        print_json({**record.model_dump(exclude={"hash"}), "token": created.token})
        return
    reach = (
        f"alliance {record.alliance_id}"
        if record.alliance_id is not None
        else f"organisation {record.organisation_id}"
        if record.organisation_id is not None
        else "everything"
    )
    typer.echo(f"key {record.prefix} '{record.name}': {record.role} of {reach}")
    typer.echo(f"token (shown once, store it now): {created.token}")


@app.command("list")
@reports_errors
def list_(
    all_: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """List keys (never their tokens)."""
    with open_engine(db) as engine:
        records = engine.alliances.credentials.keys(include_revoked=all_)
    if json:
        print_json([r.model_dump(exclude={"hash"}) for r in records])
        return
    for r in records:
        reach = r.alliance_id if r.alliance_id is not None else r.organisation_id
        state = f"revoked {when(r.revoked_at)}" if r.revoked_at else f"used {when(r.last_used_at)}"
        typer.echo(
            f"{r.prefix}  {r.role:<11} {reach if reach is not None else '*':<5} "
            f"{r.name:<24} {state}"
        )


@app.command()
@reports_errors
def revoke(
    prefix: Annotated[str, typer.Argument(help="The key's prefix (see `key list`).")],
    db: DbOption = None,
) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    with open_engine(db) as engine:
        record = engine.alliances.credentials.revoke_key(prefix)
    typer.echo(f"revoked key {record.prefix} '{record.name}' at {when(record.revoked_at)}")
