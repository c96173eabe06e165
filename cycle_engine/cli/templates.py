"""`cycle-engine template ...`: validate, publish, list, show, draw, copy, retire and compare
templates; `migrate` (in `cli.template_migration`) moves running cycles to a new version.

Without `--alliance` a template is built-in (shared by every alliance); with it, the alliance's
own. The command line acts as an operator of the database, so it may change either.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cycle_engine.actors import Actor
from cycle_engine.cli.common import (
    DbOption,
    JsonOption,
    guard_registry,
    open_engine,
    print_json,
    reports_errors,
    when,
)
from cycle_engine.cli.template_migration import MapOption, migrate, parse_map

app = typer.Typer(
    help="Cycle templates: validate, publish, list, show, source, diagram, copy, retire, diff, "
    "migrate.",
    no_args_is_help=True,
)
app.command("migrate")(migrate)
PathArg = Annotated[Path, typer.Argument(help="Template YAML file.")]
AllianceOption = Annotated[
    int | None,
    typer.Option(help="The alliance owning the template (default: built-in, for every alliance)."),
]
VersionOption = Annotated[int | None, typer.Option(help="Version (default latest).")]
AsOption = Annotated[str, typer.Option("--as", help="Who acts (recorded with the template).")]


def _operator(name: str) -> Actor:
    return Actor(name=name, role="admin")


def _owner(alliance_id: int | None) -> str:
    return "built-in" if alliance_id is None else f"alliance {alliance_id}"


@app.command()
@reports_errors
def validate(path: PathArg) -> None:
    """Check a template file and list every problem in it."""
    from cycle_engine.spec import load_template  # imported on use: `--help` stays fast

    spec = load_template(path, guards=guard_registry())
    typer.echo(f"{path}: valid template {spec.key!r} with {len(spec.stages)} stages")


@app.command()
@reports_errors
def publish(
    path: PathArg,
    alliance: AllianceOption = None,
    db: DbOption = None,
    json: JsonOption = False,
    actor: AsOption = "cli",
) -> None:
    """Publish a template (built-in, or an alliance's); changed content is a new version."""
    with open_engine(db) as engine:
        published = engine.templates.publish_file(
            path, alliance_id=alliance, actor=_operator(actor)
        )
    if json:
        print_json(published)
        return
    verb = "published" if published.created else "unchanged, already"
    typer.echo(
        f"{verb} {published.key} v{published.version} ({_owner(published.alliance_id)}, "
        f"{published.content_hash[:12]})"
    )


@app.command("list")
@reports_errors
def list_(
    alliance: Annotated[
        int | None, typer.Option(help="Only the built-in templates and this alliance's.")
    ] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """List published template versions with their owner and status."""
    with open_engine(db) as engine:
        records = engine.templates.list(alliance_id=alliance)
    if json:
        print_json([r.model_dump(exclude={"source_text"}) for r in records])
        return
    for r in records:
        label = f"{r.key} v{r.version}"
        typer.echo(
            f"{label:<28} {_owner(r.alliance_id):<12} {r.status:<9} {r.title}"
            f"  ({when(r.published_at)})"
        )


@app.command()
@reports_errors
def show(
    key: str,
    version: VersionOption = None,
    alliance: AllianceOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Show a template's stages and transitions."""
    from cycle_engine.spec.durations import format_duration  # on use: `--help` stays fast

    with open_engine(db) as engine:
        record, spec = engine.templates.version(key, version, alliance_id=alliance)
    if json:
        print_json(spec)
        return
    typer.echo(f"{spec.title} ({record.label}, {_owner(record.alliance_id)}, {record.status})")
    for stage in spec.stages:
        mark = " [final]" if stage.final else " [hold]" if stage.hold else ""
        duration = format_duration(stage.duration) if stage.duration else "-"
        typer.echo(f"  {stage.key:<24} {duration:<6} {stage.title}{mark}")
    typer.echo("transitions:")
    for t in spec.transitions:
        guards = ", ".join(f"{g.name}: {g.arg}" for g in t.guards)
        typer.echo(
            f"  {t.trigger:<20} {','.join(t.sources)} -> {t.dest}"
            + (f"  requires {guards}" if guards else "")
        )


@app.command()
@reports_errors
def source(
    key: str,
    version: VersionOption = None,
    alliance: AllianceOption = None,
    db: DbOption = None,
) -> None:
    """Print a template version's YAML, as published (to edit it and publish the next one)."""
    with open_engine(db) as engine:
        record, _ = engine.templates.version(key, version, alliance_id=alliance)
    typer.echo(record.source_text, nl=not record.source_text.endswith("\n"))


@app.command()
@reports_errors
def diagram(
    path: PathArg,
    fmt: Annotated[str, typer.Option("--format", help="dot or mermaid")] = "mermaid",
) -> None:
    """Print a template's state diagram (Graphviz DOT or Mermaid)."""
    from cycle_engine.spec import diagram_dot, diagram_mermaid, load_template  # on use

    spec = load_template(path, guards=guard_registry())
    typer.echo(diagram_dot(spec) if fmt == "dot" else diagram_mermaid(spec))


@app.command()
@reports_errors
def copy(
    key: str,
    new_key: Annotated[str, typer.Argument(help="The key of the copy in the alliance.")],
    alliance: Annotated[int, typer.Option(help="The alliance the copy belongs to.")],
    version: VersionOption = None,
    from_alliance: Annotated[
        int | None, typer.Option(help="The alliance owning the template copied (if not built-in).")
    ] = None,
    db: DbOption = None,
    json: JsonOption = False,
    actor: AsOption = "cli",
) -> None:
    """Copy a template into an alliance under a new key, to change it there."""
    with open_engine(db) as engine:
        published = engine.templates.copy(
            key,
            new_key,
            alliance_id=alliance,
            version=version,
            from_alliance_id=from_alliance,
            actor=_operator(actor),
        )
    if json:
        print_json(published)
        return
    typer.echo(f"copied {key} into alliance {alliance} as {published.key} v{published.version}")


@app.command()
@reports_errors
def retire(
    key: str,
    version: Annotated[int | None, typer.Option(help="One version (default: all).")] = None,
    alliance: AllianceOption = None,
    db: DbOption = None,
    actor: AsOption = "cli",
) -> None:
    """Retire a template (or one version): no new cycle starts on it; running cycles go on."""
    with open_engine(db) as engine:
        retired = engine.templates.retire(
            key, alliance_id=alliance, version=version, actor=_operator(actor)
        )
    if not retired:
        typer.echo(f"nothing to retire: {key} is retired already")
        return
    typer.echo("retired " + ", ".join(r.label for r in retired))


@app.command()
@reports_errors
def diff(
    key: str,
    from_version: Annotated[int, typer.Argument(help="The version to compare from.")],
    to_version: Annotated[int, typer.Argument(help="The version to compare to.")],
    from_key: Annotated[
        str | None, typer.Option(help="Compare from another template (e.g. the one copied).")
    ] = None,
    alliance: AllianceOption = None,
    stage_map: MapOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """What changed between two versions of a template, in words."""
    renames = parse_map(stage_map)
    with open_engine(db) as engine:
        found = engine.templates.diff(
            key,
            from_version,
            to_version,
            from_key=from_key,
            alliance_id=alliance,
            renames=renames,
        )
    if json:
        print_json(found)
        return
    typer.echo(found.text())
