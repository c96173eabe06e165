"""`cycle-engine template ...`: validate, publish, list, show and draw templates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cycle_engine.cli.common import (
    DbOption,
    JsonOption,
    guard_registry,
    open_engine,
    print_json,
    reports_errors,
    when,
)
from cycle_engine.spec import diagram_dot, diagram_mermaid, load_template
from cycle_engine.spec.durations import format_duration

app = typer.Typer(
    help="Cycle templates: validate, publish, list, show, diagram.", no_args_is_help=True
)
PathArg = Annotated[Path, typer.Argument(help="Template YAML file.")]


@app.command()
@reports_errors
def validate(path: PathArg) -> None:
    """Check a template file and list every problem in it."""
    spec = load_template(path, guards=guard_registry())
    typer.echo(f"{path}: valid template {spec.key!r} with {len(spec.stages)} stages")


@app.command()
@reports_errors
def publish(path: PathArg, db: DbOption = None, json: JsonOption = False) -> None:
    """Publish a template; changed content becomes a new version."""
    with open_engine(db) as engine:
        published = engine.templates.publish_file(path)
    if json:
        print_json(published)
        return
    verb = "published" if published.created else "unchanged, already"
    typer.echo(f"{verb} {published.key} v{published.version} ({published.content_hash[:12]})")


@app.command("list")
@reports_errors
def list_(db: DbOption = None, json: JsonOption = False) -> None:
    """List published template versions."""
    with open_engine(db) as engine:
        records = engine.templates.list()
    if json:
        print_json([r.model_dump(exclude={"source_text"}) for r in records])
        return
    for r in records:
        typer.echo(f"{r.key:<24} v{r.version:<3} {r.title}  ({when(r.published_at)})")


@app.command()
@reports_errors
def show(
    key: str,
    version: Annotated[int | None, typer.Option(help="Version (default latest).")] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Show a template's stages and transitions."""
    with open_engine(db) as engine:
        spec = engine.templates.spec(key, version)
    if json:
        print_json(spec)
        return
    typer.echo(f"{spec.title} ({spec.key})")
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
def diagram(
    path: PathArg,
    fmt: Annotated[str, typer.Option("--format", help="dot or mermaid")] = "mermaid",
) -> None:
    """Print a template's state diagram (Graphviz DOT or Mermaid)."""
    spec = load_template(path, guards=guard_registry())
    typer.echo(diagram_dot(spec) if fmt == "dot" else diagram_mermaid(spec))
