"""`cycle-engine cycle assign|roles|plan|question|product|context|learning|report`: the Learning
Alliance work on a cycle, added to the `cycle` group of `cycle_engine.cli.cycles`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cycle_engine.actors import Actor
from cycle_engine.cli.actors import ActorOption, PersonOption, RoleOption, acting
from cycle_engine.cli.alliances import parse_date
from cycle_engine.cli.common import (
    DbOption,
    JsonOption,
    open_engine,
    print_json,
    reports_errors,
    when,
)
from cycle_engine.cli.cycles import app
from cycle_engine.errors import InvalidInput

if TYPE_CHECKING:
    from cycle_engine.engine import CycleEngine

plan_app = typer.Typer(help="The work plan: show it, move a due date.", no_args_is_help=True)
question_app = typer.Typer(help="Learning questions: add, answer, list.", no_args_is_help=True)
product_app = typer.Typer(help="Products of each stage: add, list.", no_args_is_help=True)
context_app = typer.Typer(help="Testing contexts: add, report results, list.", no_args_is_help=True)
learning_app = typer.Typer(help="The learning log: add, list.", no_args_is_help=True)
app.add_typer(plan_app, name="plan")
app.add_typer(question_app, name="question")
app.add_typer(product_app, name="product")
app.add_typer(context_app, name="context")
app.add_typer(learning_app, name="learning")


def _actor(engine: CycleEngine, cycle_id: int, name: str, role: str, person: str | None) -> Actor:
    return acting(engine, name, role, person, alliance_id=engine.get_cycle(cycle_id).alliance_id)


@app.command()
@reports_errors
def assign(
    cycle_id: int,
    stage: str,
    organisation_id: int,
    level: str,
    focal_point: Annotated[int | None, typer.Option(help="Person id of the focal point.")] = None,
    deputy: Annotated[int | None, typer.Option(help="Person id of the deputy.")] = None,
    db: DbOption = None,
    actor: ActorOption = "cli",
    role: RoleOption = "coordinator",
    person: PersonOption = None,
) -> None:
    """Record that an organisation leads, is active in, or is informed of a stage."""
    with open_engine(db) as engine:
        engine.work.assign(
            cycle_id,
            stage,
            organisation_id,
            level,
            focal_point_id=focal_point,
            deputy_id=deputy,
            actor=_actor(engine, cycle_id, actor, role, person),
        )
    typer.echo(f"cycle {cycle_id}: organisation {organisation_id} is {level} in {stage}")


@app.command()
@reports_errors
def roles(cycle_id: int, db: DbOption = None, json: JsonOption = False) -> None:
    """Who takes part in each stage, and which stages still lack a focal point."""
    with open_engine(db) as engine:
        rows = engine.work.participants(cycle_id)
        lacking = engine.work.stages_lacking_focal_point(cycle_id)
        names = {o.id: o.name for o in engine.alliances.list_organisations()}
        people = {p.id: p.name for p in engine.alliances.list_people()}
    if json:
        print_json({"participation": rows, "lacking": lacking})
        return
    for r in rows:
        focal = people.get(r.focal_point_id, "-") if r.focal_point_id else "-"
        flag = "  NEEDS A NEW FOCAL POINT" if r.needs_focal_point else ""
        typer.echo(
            f"{r.stage:<24} {r.level:<9} {names.get(r.organisation_id, '?'):<45} {focal}{flag}"
        )
    for stage, why in lacking.items():
        typer.echo(f"lacking: {stage}: {why}")


@plan_app.command("show")
@reports_errors
def plan_show(cycle_id: int, db: DbOption = None, json: JsonOption = False) -> None:
    """Show the work plan: planned start and due per stage."""
    with open_engine(db) as engine:
        rows = engine.work.work_plan(cycle_id)
    if json:
        print_json(rows)
        return
    for r in rows:
        moved = f"  (moved {r.changes}x, first due {when(r.original_due)})" if r.changes else ""
        typer.echo(f"{r.stage:<24} {when(r.planned_start)} -> {when(r.planned_due)}{moved}")


@plan_app.command("move")
@reports_errors
def plan_move(
    cycle_id: int,
    stage: str,
    due: str,
    reason: Annotated[str, typer.Option(help="Why the date moves (kept in the history).")],
    db: DbOption = None,
    actor: ActorOption = "cli",
    role: RoleOption = "coordinator",
    person: PersonOption = None,
) -> None:
    """Move a stage's due date (YYYY-MM-DD: end of that working day); later stages follow."""
    day = parse_date(due, "due")
    assert day is not None
    with open_engine(db) as engine:
        rows = engine.work.move_due_date(
            cycle_id, stage, day, reason=reason, actor=_actor(engine, cycle_id, actor, role, person)
        )
    for r in rows:
        typer.echo(f"{r.stage:<24} {when(r.planned_start)} -> {when(r.planned_due)}")


@question_app.command("add")
@reports_errors
def question_add(
    cycle_id: int,
    texts: list[str],
    db: DbOption = None,
    actor: ActorOption = "cli",
    role: RoleOption = "coordinator",
    person: PersonOption = None,
) -> None:
    """Add learning questions (during the question workshop)."""
    with open_engine(db) as engine:
        rows = engine.work.add_questions(
            cycle_id, texts, actor=_actor(engine, cycle_id, actor, role, person)
        )
    for q in rows:
        typer.echo(f"question {q.id} ({q.position}): {q.text}")


@question_app.command("answer")
@reports_errors
def question_answer(
    cycle_id: int,
    question_id: int,
    answer: str,
    db: DbOption = None,
    actor: ActorOption = "cli",
    role: RoleOption = "coordinator",
    person: PersonOption = None,
) -> None:
    """Answer a learning question (during documentation)."""
    with open_engine(db) as engine:
        engine.work.answer_questions(
            cycle_id, {question_id: answer}, actor=_actor(engine, cycle_id, actor, role, person)
        )
    typer.echo(f"question {question_id} answered")


@question_app.command("list")
@reports_errors
def question_list(cycle_id: int, db: DbOption = None, json: JsonOption = False) -> None:
    """List a cycle's learning questions and answers."""
    with open_engine(db) as engine:
        rows = engine.work.learning_questions(cycle_id)
    if json:
        print_json(rows)
        return
    for q in rows:
        typer.echo(f"{q.id:>4} {q.position}. {q.text}")
        typer.echo(f"        answer: {q.answer or '(not yet)'}")


@product_app.command("add")
@reports_errors
def product_add(
    cycle_id: int,
    kind: str,
    title: str,
    author: Annotated[int, typer.Option(help="Author organisation id.")],
    link: Annotated[str | None, typer.Option(help="Where the product is.")] = None,
    file: Annotated[Path | None, typer.Option(help="A file to store.")] = None,
    form: Annotated[str | None, typer.Option(help="method, tool or approach.")] = None,
    stage: Annotated[str | None, typer.Option(help="Default: the current stage.")] = None,
    db: DbOption = None,
    actor: ActorOption = "cli",
    role: RoleOption = "coordinator",
    person: PersonOption = None,
) -> None:
    """Record a product with a link and/or a stored file."""
    with open_engine(db) as engine:
        product = engine.work.add_product(
            cycle_id,
            kind,
            title,
            author,
            stage=stage,
            link=link,
            form=form,
            file=file,
            actor=_actor(engine, cycle_id, actor, role, person),
        )
    typer.echo(f"product {product.id} ({product.kind}) recorded in {product.stage}")


@product_app.command("list")
@reports_errors
def product_list(cycle_id: int, db: DbOption = None, json: JsonOption = False) -> None:
    """List a cycle's products."""
    with open_engine(db) as engine:
        rows = engine.work.cycle_products(cycle_id)
    if json:
        print_json(rows)
        return
    for p in rows:
        where = p.link or p.file_name or ""
        typer.echo(f"{p.id:>4}  {p.stage:<22} {p.kind:<22} {p.title}  {where}")


@context_app.command("add")
@reports_errors
def context_add(
    cycle_id: int,
    name: str,
    country: Annotated[str, typer.Option(help="Country of the context.")],
    community: Annotated[str, typer.Option(help="Community or site.")],
    org: Annotated[int, typer.Option(help="Partner organisation running it.")],
    db: DbOption = None,
    actor: ActorOption = "cli",
    role: RoleOption = "coordinator",
    person: PersonOption = None,
) -> None:
    """Add a testing context."""
    with open_engine(db) as engine:
        context = engine.work.add_context(
            cycle_id,
            name,
            country,
            community,
            org,
            actor=_actor(engine, cycle_id, actor, role, person),
        )
    typer.echo(f"context {context.id} {context.name!r} added")


@context_app.command("report")
@reports_errors
def context_report(
    cycle_id: int,
    context_id: int,
    summary: str,
    rating: Annotated[str, typer.Option(help="strong, mixed or weak.")],
    db: DbOption = None,
    actor: ActorOption = "cli",
    role: RoleOption = "coordinator",
    person: PersonOption = None,
) -> None:
    """Report a context's results for the current testing round."""
    with open_engine(db) as engine:
        result = engine.work.report_context(
            cycle_id,
            context_id,
            summary,
            rating,
            actor=_actor(engine, cycle_id, actor, role, person),
        )
    typer.echo(f"context {context_id} reported ({result.rating}, round {result.visit})")


@context_app.command("list")
@reports_errors
def context_list(cycle_id: int, db: DbOption = None, json: JsonOption = False) -> None:
    """List a cycle's testing contexts and their results."""
    with open_engine(db) as engine:
        rows = engine.work.testing_contexts(cycle_id)
        results = engine.work.context_results(cycle_id)
    if json:
        print_json({"contexts": rows, "results": results})
        return
    for c in rows:
        typer.echo(f"{c.id:>4}  {c.name:<30} {c.community}, {c.country}  [{c.status}]")
        for r in results:
            if r.context_id == c.id:
                typer.echo(f"        round {r.visit} {r.rating}: {r.summary}")


@learning_app.command("add")
@reports_errors
def learning_add(
    cycle_id: int,
    kind: str,
    title: str,
    text: str,
    org: Annotated[list[int], typer.Option(help="Organisation id (repeat for several).")],
    db: DbOption = None,
    actor: ActorOption = "cli",
    role: RoleOption = "coordinator",
    person: PersonOption = None,
) -> None:
    """Log a learning (organisational_learning, development_interventions, knowledge_capacity)."""
    with open_engine(db) as engine:
        entry = engine.work.add_learning(
            cycle_id, kind, title, text, org, actor=_actor(engine, cycle_id, actor, role, person)
        )
    typer.echo(f"learning {entry.record.id} ({entry.record.kind}) logged")


@learning_app.command("list")
@reports_errors
def learning_list(cycle_id: int, db: DbOption = None, json: JsonOption = False) -> None:
    """List a cycle's learning log."""
    with open_engine(db) as engine:
        rows = engine.work.learning_log(cycle_id)
    if json:
        print_json([{"entry": e.record, "organisations": e.organisations} for e in rows])
        return
    for e in rows:
        orgs = ", ".join(o.name for o in e.organisations)
        typer.echo(f"{e.record.id:>4}  {e.record.kind:<26} {e.record.title} ({orgs})")


@app.command()
@reports_errors
def report(
    cycle_id: int,
    fmt: Annotated[str, typer.Option("--format", help="markdown or html.")] = "markdown",
    output: Annotated[Path | None, typer.Option(help="Write to this file.")] = None,
    db: DbOption = None,
) -> None:
    """The cycle report: questions, roles, dates, products, contexts, answers, learning."""
    if fmt not in ("markdown", "html"):
        raise InvalidInput("format", f"must be markdown or html; got {fmt!r}")
    with open_engine(db) as engine:
        text = engine.work.render_report(cycle_id, fmt)
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    typer.echo(f"report written to {output}")
