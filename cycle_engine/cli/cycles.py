"""`cycle-engine cycle ...`: start, fire, show, list and read the history of cycles."""

from __future__ import annotations

from typing import Annotated

import typer

from cycle_engine.cli.actors import ActorOption, PersonOption, RoleOption, acting
from cycle_engine.cli.common import (
    DbOption,
    JsonOption,
    open_engine,
    print_json,
    reports_errors,
    when,
)
from cycle_engine.cli.listing import read_listing

app = typer.Typer(help="Learning cycles: start, fire, show, list, history.", no_args_is_help=True)


@app.command()
@reports_errors
def start(
    template: str,
    title: str,
    db: DbOption = None,
    json: JsonOption = False,
    actor: ActorOption = "cli",
    role: RoleOption = "coordinator",
    person: PersonOption = None,
    alliance: Annotated[int | None, typer.Option(help="The alliance running it.")] = None,
    standalone: Annotated[
        bool,
        typer.Option(
            "--standalone", help="Run it without an alliance: only administrators see it."
        ),
    ] = False,
    topic: Annotated[str | None, typer.Option(help="The learning topic.")] = None,
    question: Annotated[
        list[str] | None, typer.Option(help="A learning question (repeat for several).")
    ] = None,
) -> None:
    """Start a cycle on a template for a learning topic, in an alliance (`--alliance ID`) or,
    explicitly, on its own (`--standalone`)."""
    with open_engine(db) as engine:
        cycle = engine.start_cycle(
            template,
            title,
            actor=acting(engine, actor, role, person, alliance_id=alliance),
            alliance_id=alliance,
            topic=topic,
            questions=question or (),
            standalone=standalone,
        )
    if json:
        print_json(cycle)
        return
    where = "standalone (only administrators see it)" if standalone else f"alliance {alliance}"
    typer.echo(f"started cycle {cycle.id} '{cycle.title}' in stage {cycle.state}, {where}")


@app.command()
@reports_errors
def fire(
    cycle_id: int,
    trigger: str,
    note: Annotated[str | None, typer.Option(help="Why (kept in the history).")] = None,
    expect_version: Annotated[int | None, typer.Option(help="Fail if the cycle moved on.")] = None,
    db: DbOption = None,
    json: JsonOption = False,
    actor: ActorOption = "cli",
    role: RoleOption = "coordinator",
    person: PersonOption = None,
) -> None:
    """Fire a trigger on a cycle (as an operator, or as a person with --person)."""
    with open_engine(db) as engine:
        alliance_id = engine.get_cycle(cycle_id).alliance_id
        result = engine.fire(
            cycle_id,
            trigger,
            note=note,
            expected_version=expect_version,
            actor=acting(engine, actor, role, person, alliance_id=alliance_id),
        )
    if json:
        print_json(result)
        return
    typer.echo(f"cycle {cycle_id}: {result.from_state} -> {result.to_state} (v{result.version})")


@app.command()
@reports_errors
def show(
    cycle_id: int,
    db: DbOption = None,
    json: JsonOption = False,
    role: RoleOption = "coordinator",
    person: PersonOption = None,
) -> None:
    """Show a cycle, its stage and what can be fired now (with reasons), for an operator's role
    or a person (--person)."""
    with open_engine(db) as engine:
        alliance_id = engine.get_cycle(cycle_id).alliance_id
        who = acting(engine, "cli", role, person, alliance_id=alliance_id)
        view = engine.cycles.view(cycle_id, actor=who)
        cycle, stage, options = view.cycle, view.stage, view.triggers
    if json:
        print_json({"cycle": cycle, "stage": stage, "triggers": options})
        return
    typer.echo(f"cycle {cycle.id}: {cycle.title}")
    if cycle.alliance_id is None:
        typer.echo("  standalone: no alliance (only administrators see it; no partner is told)")
    typer.echo(
        f"  template {cycle.template_key} v{view.template_version}, stage {cycle.state}"
        f" ({cycle.status}),"
        f" version {cycle.version}"
    )
    if stage is not None:
        typer.echo(f"  entered {when(stage.entered_at)}, due {when(stage.due_at)}")
    for option in options:
        if option.allowed:
            typer.echo(f"  [ok]      {option.trigger} -> {option.dest}")
        else:
            typer.echo(
                f"  [blocked] {option.trigger} -> {option.dest}: {'; '.join(option.reasons)}"
            )


@app.command("list")
@reports_errors
def list_(
    state: Annotated[str | None, typer.Option(help="Only cycles in this stage.")] = None,
    status: Annotated[str | None, typer.Option(help="active or finished.")] = None,
    template: Annotated[str | None, typer.Option(help="Only this template key.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """List cycles, with filters."""
    rows = read_listing(
        db, state=state, status=status, template_key=template, limit=limit, offset=offset
    )
    if json:
        print_json([{k: v for k, v in row.items() if k != "template"} for row in rows])
        return
    for c in rows:
        alone = "  (standalone: no alliance)" if c["alliance_id"] is None else ""
        where = f"{c['id']:>5}  {c['state']:<24} {c['status']:<9} {c['template']:<20}"
        typer.echo(f"{where} {c['title']}{alone}")


@app.command()
@reports_errors
def history(cycle_id: int, db: DbOption = None, json: JsonOption = False) -> None:
    """The cycle's history: who did what, when."""
    with open_engine(db) as engine:
        events = engine.history(cycle_id)
    if json:
        print_json(events)
        return
    for e in events:
        move = f"{e.from_state or ''} -> {e.to_state}" if e.to_state else ""
        what = e.trigger or e.kind
        typer.echo(
            f"{e.seq:>3}  {when(e.at)}  {e.actor:<12} {what:<22} {move}"
            + (f'  "{e.note}"' if e.note else "")
        )
