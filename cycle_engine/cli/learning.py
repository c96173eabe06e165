"""`cycle-engine learning ...`: shared learning above the cycle (issue 12) from the command line.

The alliance's agenda and learning report, question statuses, follow-on cycles, adoption and
outcome records, level proposals and decisions, and organisations leaving. Each command opens
the engine on `--db` and acts as `--as/--role` or `--person EMAIL` (`cli.actors`).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cycle_engine.cli.actors import ActorOption, PersonOption, RoleOption, acting
from cycle_engine.cli.common import DbOption, JsonOption, open_engine, print_json, reports_errors
from cycle_engine.errors import InvalidInput

if TYPE_CHECKING:
    from cycle_engine.actors import Actor
    from cycle_engine.engine import CycleEngine

app = typer.Typer(help="The alliance's learning: agenda, follow-ons, adoption, the report.")

Ids = Annotated[
    list[int] | None,
    typer.Option("--question", help="A question id to carry (repeat; default: every open one)."),
]
Products = Annotated[
    list[int] | None,
    typer.Option("--product", help="A product id to take as input (repeat; default: adapted)."),
]
OnOption = Annotated[str | None, typer.Option("--on", help="Date (YYYY-MM-DD; default today).")]


@app.command("report")
@reports_errors
def report(
    alliance_id: int,
    fmt: Annotated[str, typer.Option("--format", help="markdown or html.")] = "markdown",
    output: Annotated[Path | None, typer.Option(help="Write to this file.")] = None,
    db: DbOption = None,
) -> None:
    """The alliance learning report: Table 1, adoption figures, outcomes, open questions,
    cycles and their links; every figure from records."""
    if fmt not in ("markdown", "html"):
        raise InvalidInput("format", f"must be markdown or html; got {fmt!r}")
    with open_engine(db) as engine:
        text = engine.learning.render_alliance_report(alliance_id, fmt)
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    typer.echo(f"report written to {output}")


@app.command("agenda")
@reports_errors
def agenda(alliance_id: int, db: DbOption = None, json: JsonOption = False) -> None:
    """The alliance's learning questions and each cycle's status on them."""
    with open_engine(db) as engine:
        items = engine.learning.agenda(alliance_id)
    if json:
        print_json(items)
        return
    for item in items:
        mark = "open" if item.open else "answered"
        typer.echo(f"{item.record.id}. [{mark}] {item.record.text}")
        for c in item.cycles:
            typer.echo(f"     cycle {c.cycle_id} ({c.cycle_title}): {c.status}")


@app.command("raise")
@reports_errors
def raise_question(
    cycle_id: int,
    text: str,
    reason: Annotated[str, typer.Option("--reason", help="Why the question arose.")],
    organisation: Annotated[int | None, typer.Option(help="Raised by this organisation.")] = None,
    db: DbOption = None,
    actor: ActorOption = "cli",
    role: RoleOption = "coordinator",
    person: PersonOption = None,
) -> None:
    """Raise a learning question in a running cycle, at any stage."""
    with open_engine(db) as engine:
        who = _acting_in_cycle(engine, actor, role, person, cycle_id)
        state = engine.learning.raise_question(
            cycle_id, text, reason, organisation_id=organisation, actor=who
        )
    typer.echo(f"question {state.question.id} (position {state.question.position}) raised")


@app.command("status")
@reports_errors
def status(
    cycle_id: int,
    question_id: int,
    value: Annotated[str, typer.Argument(help="answered, advanced or carried_forward.")],
    text: Annotated[str | None, typer.Option(help="The answer, or the progress made.")] = None,
    note: Annotated[str | None, typer.Option(help="Why it is carried forward.")] = None,
    db: DbOption = None,
    actor: ActorOption = "cli",
    role: RoleOption = "coordinator",
    person: PersonOption = None,
) -> None:
    """Record how the cycle leaves a question: answered, advanced or carried forward."""
    with open_engine(db) as engine:
        who = _acting_in_cycle(engine, actor, role, person, cycle_id)
        state = engine.learning.record_question_status(
            cycle_id, question_id, value, text=text, note=note, actor=who
        )
    typer.echo(f"question {question_id}: {state.status}")


@app.command("follow-on")
@reports_errors
def follow_on(
    cycle_id: int,
    title: str,
    template: Annotated[str | None, typer.Option(help="Template key (default: the same).")] = None,
    question: Ids = None,
    product: Products = None,
    note: Annotated[str | None, typer.Option(help="Why this cycle follows on.")] = None,
    db: DbOption = None,
    actor: ActorOption = "cli",
    role: RoleOption = "coordinator",
    person: PersonOption = None,
) -> None:
    """Start a cycle that follows on from CYCLE_ID (its open questions, adapted prototypes and
    participants)."""
    with open_engine(db) as engine:
        who = _acting_in_cycle(engine, actor, role, person, cycle_id)
        follow = engine.learning.start_follow_on(
            cycle_id,
            title,
            template_key=template,
            question_ids=question,
            product_ids=product,
            note=note,
            actor=who,
        )
        carried = len(engine.learning.question_states(follow.cycle.id or 0))
    typer.echo(
        f"cycle {follow.cycle.id} follows on from cycle {cycle_id}: {carried} question(s) carried"
    )


@app.command("adopt")
@reports_errors
def adopt(
    alliance_id: int,
    product_id: int,
    organisation_id: int,
    use: Annotated[str, typer.Argument(help="used or adapted.")],
    country: Annotated[str, typer.Option(help="Where (country).")],
    place: Annotated[str, typer.Option(help="Where (community, district or site).")],
    description: Annotated[str, typer.Option(help="What was done with it.")],
    on: OnOption = None,
    db: DbOption = None,
    actor: ActorOption = "cli",
    role: RoleOption = "coordinator",
    person: PersonOption = None,
) -> None:
    """Record that an organisation used or adapted a tool of a cycle."""
    with open_engine(db) as engine:
        who = acting(engine, actor, role, person, alliance_id=alliance_id)
        row = engine.learning.record_adoption(
            alliance_id,
            product_id,
            organisation_id,
            use,
            country=country,
            place=place,
            adopted_on=_day("--on", on) or engine.clock.now().date(),
            description=description,
            actor=who,
        )
    typer.echo(f"adoption {row.id} recorded")


@app.command("outcome")
@reports_errors
def outcome(
    alliance_id: int,
    kind: Annotated[str, typer.Argument(help="practice_change, development_intervention, ...")],
    title: str,
    description: Annotated[str, typer.Option(help="What changed.")],
    cycle: Annotated[list[int], typer.Option("--cycle", help="A cycle behind it (repeat).")],
    organisation: Annotated[int | None, typer.Option(help="The organisation concerned.")] = None,
    on: OnOption = None,
    db: DbOption = None,
    actor: ActorOption = "cli",
    role: RoleOption = "coordinator",
    person: PersonOption = None,
) -> None:
    """Record an outcome (practice change, intervention, policy dialogue, research need)."""
    with open_engine(db) as engine:
        who = acting(engine, actor, role, person, alliance_id=alliance_id)
        made = engine.learning.record_outcome(
            alliance_id,
            kind,
            title,
            description,
            observed_on=_day("--on", on) or engine.clock.now().date(),
            cycle_ids=cycle,
            organisation_id=organisation,
            actor=who,
        )
    typer.echo(f"outcome {made.record.id} recorded")


@app.command("propose")
@reports_errors
def propose(
    cycle_id: int,
    stage: str,
    organisation_id: int,
    level: Annotated[str, typer.Argument(help="lead, active or informed.")],
    db: DbOption = None,
    actor: ActorOption = "cli",
    role: RoleOption = "coordinator",
    person: PersonOption = None,
) -> None:
    """Propose an organisation's level on a stage (a partner: with --person)."""
    with open_engine(db) as engine:
        who = _acting_in_cycle(engine, actor, role, person, cycle_id)
        row = engine.learning.propose_level(cycle_id, stage, organisation_id, level, actor=who)
    typer.echo(f"proposal {row.id}: {level} on {stage}")


@app.command("decide")
@reports_errors
def decide(
    cycle_id: int,
    proposal_id: int,
    level: Annotated[str | None, typer.Option(help="Change to this level.")] = None,
    decline: Annotated[bool, typer.Option(help="Decline the proposal.")] = False,
    note: Annotated[str | None, typer.Option(help="Why.")] = None,
    db: DbOption = None,
    actor: ActorOption = "cli",
    role: RoleOption = "coordinator",
    person: PersonOption = None,
) -> None:
    """Confirm a level proposal, change its level, or decline it (coordinators)."""
    with open_engine(db) as engine:
        who = _acting_in_cycle(engine, actor, role, person, cycle_id)
        row = engine.learning.decide_proposal(
            cycle_id, proposal_id, level=level, decline=decline, note=note, actor=who
        )
    typer.echo(f"proposal {proposal_id}: {row.status}")


@app.command("leave")
@reports_errors
def leave(
    alliance_id: int,
    organisation_id: int,
    reason: Annotated[str, typer.Option(help="Why the organisation left.")],
    on: OnOption = None,
    db: DbOption = None,
    actor: ActorOption = "cli",
    role: RoleOption = "coordinator",
    person: PersonOption = None,
) -> None:
    """Record that an organisation left the alliance; its open roles are flagged."""
    with open_engine(db) as engine:
        who = acting(engine, actor, role, person, alliance_id=alliance_id)
        flagged = engine.learning.organisation_left(
            alliance_id, organisation_id, reason, left_on=_day("--on", on), actor=who
        )
    typer.echo(f"organisation {organisation_id} left; flagged: {flagged or 'no open role'}")


def _acting_in_cycle(
    engine: CycleEngine, actor: str, role: str, person: str | None, cycle_id: int
) -> Actor:
    """The actor a command on a cycle runs as, in the cycle's alliance."""
    return acting(engine, actor, role, person, alliance_id=engine.get_cycle(cycle_id).alliance_id)


def _day(field: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(field, f"{value!r} is not a date (YYYY-MM-DD)") from None
