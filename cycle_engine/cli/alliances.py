"""`cycle-engine alliance|org|person ...`: register alliances, partner organisations and people,
record people leaving, and see turnover and who carries the work."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from cycle_engine.actors import Actor
from cycle_engine.cli.common import DbOption, JsonOption, open_engine, print_json, reports_errors
from cycle_engine.errors import InvalidInput

alliance_app = typer.Typer(
    help="Learning Alliances: create, members, roles, turnover.", no_args_is_help=True
)
org_app = typer.Typer(help="Partner organisations: add, list, show.", no_args_is_help=True)
person_app = typer.Typer(
    help="People in partner organisations: add, list, leave.", no_args_is_help=True
)

DateOption = Annotated[str | None, typer.Option(help="A date, YYYY-MM-DD (default: today).")]


def parse_date(value: str | None, field: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(field, f"{value!r} is not a date (YYYY-MM-DD)") from None


@alliance_app.command("create")
@reports_errors
def alliance_create(
    name: str,
    theme: Annotated[str, typer.Option(help="What the alliance works on.")],
    timezone: Annotated[str, typer.Option(help="IANA zone, e.g. America/Guatemala.")] = "UTC",
    language: Annotated[str, typer.Option(help="en, es or fr.")] = "en",
    hours: Annotated[str, typer.Option(help="Working hours, e.g. 8-17.")] = "9-17",
    weekend: Annotated[str, typer.Option(help="Weekend days, Monday=0.")] = "5,6",
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Create an alliance with its theme, time zone and language."""
    try:
        start, end = (int(part) for part in hours.split("-"))
    except ValueError:
        raise InvalidInput("hours", f"{hours!r} is not like 9-17") from None
    with open_engine(db) as engine:
        alliance = engine.alliances.create_alliance(
            name,
            theme,
            timezone=timezone,
            language=language,
            working_hours_start=start,
            working_hours_end=end,
            weekend_days=weekend,
        )
    if json:
        print_json(alliance)
        return
    typer.echo(
        f"alliance {alliance.id} {alliance.name!r} ({alliance.timezone}, {alliance.language})"
    )


@alliance_app.command("list")
@reports_errors
def alliance_list(db: DbOption = None, json: JsonOption = False) -> None:
    """List alliances."""
    with open_engine(db) as engine:
        rows = engine.alliances.list_alliances()
    if json:
        print_json(rows)
        return
    for a in rows:
        typer.echo(f"{a.id:>4}  {a.name:<40} {a.timezone:<20} {a.theme}")


@alliance_app.command("show")
@reports_errors
def alliance_show(alliance_id: int, db: DbOption = None, json: JsonOption = False) -> None:
    """Show an alliance: members, coordinators, managers and cycles."""
    from cycle_engine.cycles.listing import CycleFilter  # imported on use: `--help` stays fast

    with open_engine(db) as engine:
        alliance = engine.alliances.get_alliance(alliance_id)
        members = engine.alliances.alliance_members(alliance_id)
        coordinators = engine.alliances.people_with_role(alliance_id, "coordinator")
        managers = engine.alliances.people_with_role(alliance_id, "manager")
        cycles = engine.cycles.list_cycles(CycleFilter(alliance_id=alliance_id), limit=1000)
    if json:
        print_json(
            {
                "alliance": alliance,
                "members": members,
                "coordinators": coordinators,
                "managers": managers,
                "cycles": cycles,
            }
        )
        return
    typer.echo(f"alliance {alliance.id}: {alliance.name}")
    typer.echo(f"  theme: {alliance.theme}")
    typer.echo(
        f"  {alliance.timezone}, {alliance.language}, working hours "
        f"{alliance.working_hours_start}-{alliance.working_hours_end}"
    )
    typer.echo(f"  coordinators: {', '.join(p.name for p in coordinators) or '-'}")
    typer.echo(f"  managers: {', '.join(p.name for p in managers) or '-'}")
    typer.echo(f"  {len(members)} member organisations:")
    for m in members:
        typer.echo(
            f"    {m.organisation.id:>4}  {m.organisation.name:<50} {m.organisation.kind:<10}"
            f" {m.organisation.country}"
        )
    typer.echo(f"  {len(cycles)} cycles:")
    for c in cycles:
        typer.echo(f"    {c.id:>4}  {c.state:<24} {c.title}")


@alliance_app.command("join")
@reports_errors
def alliance_join(
    alliance_id: int,
    organisation_id: int,
    works_with: Annotated[int | None, typer.Option(help="Partner agency it works through.")] = None,
    joined: DateOption = None,
    db: DbOption = None,
) -> None:
    """Seat an organisation in an alliance."""
    with open_engine(db) as engine:
        engine.alliances.join_alliance(
            alliance_id,
            organisation_id,
            works_with_id=works_with,
            joined_on=parse_date(joined, "joined"),
        )
    typer.echo(f"organisation {organisation_id} joined alliance {alliance_id}")


@alliance_app.command("import")
@reports_errors
def alliance_import(
    alliance_id: int,
    file: Annotated[Path, typer.Argument(help="A partner list: .csv or .json.", exists=True)],
    dry_run: Annotated[bool, typer.Option(help="Check the file only; write nothing.")] = False,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Import organisations, agency links and people from a CSV or JSON file, all or nothing
    (the same file as `POST /alliances/{id}/import`; importing it again changes nothing)."""
    from cycle_engine.alliances.onboarding_files import ImportRejected

    media = "application/json" if file.suffix.lower() == ".json" else "text/csv"
    with open_engine(db) as engine:
        try:
            result = engine.alliances.onboarding.import_file(
                alliance_id,
                file.read_bytes(),
                media,
                actor=Actor(name="cli", role="admin"),
                dry_run=dry_run,
            )
        except ImportRejected as rejected:
            typer.echo(
                f"error: {file.name}: {len(rejected.errors)} problem(s), nothing imported", err=True
            )
            for problem in rejected.errors:
                typer.echo(f"  row {problem.row}, {problem.column}: {problem.message}", err=True)
            raise typer.Exit(code=1) from None
    if json:
        print_json(result)
        return
    typer.echo(
        f"{'checked' if dry_run else 'imported'} {file.name}: "
        f"{result.organisations_created} organisations created, "
        f"{result.organisations_seated} seated, {result.links_set} agency links, "
        f"{result.people_created} people, {result.roles_granted} roles, "
        f"{result.unchanged} unchanged"
    )


@alliance_app.command("role")
@reports_errors
def alliance_role(alliance_id: int, person_id: int, role: str, db: DbOption = None) -> None:
    """Make a person coordinator or manager of an alliance."""
    with open_engine(db) as engine:
        engine.alliances.grant_role(alliance_id, person_id, role)
    typer.echo(f"person {person_id} is {role} of alliance {alliance_id}")


@alliance_app.command("turnover")
@reports_errors
def alliance_turnover(
    alliance_id: int,
    since: DateOption = None,
    until: DateOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Turnover per organisation: headcount, who left, stages needing a new focal point."""
    with open_engine(db) as engine:
        rows = engine.alliances.turnover(
            alliance_id, since=parse_date(since, "since"), until=parse_date(until, "until")
        )
    if json:
        print_json(rows)
        return
    for t in rows:
        if t.left or t.stages_needing_focal_point:
            typer.echo(
                f"{t.organisation:<50} {t.left}/{t.headcount} left ({t.rate:.0%}); "
                f"{t.stages_needing_focal_point} stages need a focal point"
                + (f"; {', '.join(t.left_people)}" if t.left_people else "")
            )
    typer.echo(
        f"{sum(t.left for t in rows)} of {sum(t.headcount for t in rows)} people left "
        f"across {len(rows)} organisations"
    )


@alliance_app.command("workload")
@reports_errors
def alliance_workload(alliance_id: int, db: DbOption = None, json: JsonOption = False) -> None:
    """Who carries the work on active cycles: lead/active stages and focal points."""
    with open_engine(db) as engine:
        rows = engine.alliances.workload(alliance_id)
    if json:
        print_json(rows)
        return
    for w in rows:
        focal = ", ".join(f"{name} ({n})" for name, n in w.focal_points.items()) or "-"
        flag = f"; {w.needing_focal_point} need a focal point" if w.needing_focal_point else ""
        typer.echo(
            f"{w.organisation:<50} lead {w.lead:>2}, active {w.active:>2}, informed "
            f"{w.informed:>2}; focal points: {focal}{flag}"
        )


@org_app.command("add")
@reports_errors
def org_add(
    name: str,
    kind: Annotated[str, typer.Option(help="research, ngo, donor, government, private, local.")],
    country: Annotated[str, typer.Option(help="Country it works in.")],
    timezone: Annotated[str, typer.Option(help="IANA zone.")] = "UTC",
    alliance: Annotated[int | None, typer.Option(help="Also seat it in this alliance.")] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Register an organisation (optionally seating it in an alliance)."""
    with open_engine(db) as engine:
        org = engine.alliances.add_organisation(name, kind, country, timezone=timezone)
        assert org.id is not None
        if alliance is not None:
            engine.alliances.join_alliance(alliance, org.id)
    if json:
        print_json(org)
        return
    typer.echo(f"organisation {org.id} {org.name!r} ({org.kind}, {org.country})")


@org_app.command("list")
@reports_errors
def org_list(
    alliance: Annotated[int | None, typer.Option(help="Only members of this alliance.")] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """List organisations."""
    with open_engine(db) as engine:
        if alliance is not None:
            rows = [m.organisation for m in engine.alliances.alliance_members(alliance)]
        else:
            rows = engine.alliances.list_organisations()
    if json:
        print_json(rows)
        return
    for o in rows:
        typer.echo(f"{o.id:>4}  {o.name:<50} {o.kind:<10} {o.country}")


@org_app.command("show")
@reports_errors
def org_show(organisation_id: int, db: DbOption = None, json: JsonOption = False) -> None:
    """Show an organisation: its alliances and people."""
    with open_engine(db) as engine:
        alliances = engine.alliances.alliances_of(organisation_id)
        org = next(o for o in engine.alliances.list_organisations() if o.id == organisation_id)
        people = engine.alliances.list_people(organisation_id=organisation_id)
    if json:
        print_json({"organisation": org, "alliances": alliances, "people": people})
        return
    typer.echo(f"organisation {org.id}: {org.name} ({org.kind}, {org.country}, {org.timezone})")
    typer.echo(f"  alliances: {', '.join(a.name for a in alliances) or '-'}")
    for p in people:
        left = f" (left {p.left_on})" if p.left_on else ""
        typer.echo(f"  {p.id:>4}  {p.name:<30} {p.email}{left}")


@person_app.command("add")
@reports_errors
def person_add(
    name: str,
    email: str,
    org: Annotated[int, typer.Option(help="Organisation id.")],
    language: Annotated[
        str | None, typer.Option(help="en, es or fr (default: the alliance's).")
    ] = None,
    timezone: Annotated[str | None, typer.Option(help="Default: the organisation's.")] = None,
    joined: DateOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Register a person in an organisation."""
    with open_engine(db) as engine:
        person = engine.alliances.add_person(
            name,
            email,
            org,
            joined_on=parse_date(joined, "joined"),
            language=language,
            timezone=timezone,
        )
    if json:
        print_json(person)
        return
    typer.echo(f"person {person.id} {person.name} <{person.email}>")


@person_app.command("list")
@reports_errors
def person_list(
    org: Annotated[int | None, typer.Option(help="Only this organisation.")] = None,
    alliance: Annotated[int | None, typer.Option(help="Only this alliance.")] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """List people."""
    with open_engine(db) as engine:
        rows = engine.alliances.list_people(organisation_id=org, alliance_id=alliance)
    if json:
        print_json(rows)
        return
    for p in rows:
        left = f" left {p.left_on}" if p.left_on else ""
        typer.echo(f"{p.id:>4}  {p.name:<30} {p.email:<40} org {p.organisation_id}{left}")


@person_app.command("leave")
@reports_errors
def person_leave(
    person_id: int,
    on: DateOption = None,
    note: Annotated[str | None, typer.Option(help="Kept in the history.")] = None,
    db: DbOption = None,
    actor: Annotated[str, typer.Option("--as")] = "cli",
) -> None:
    """Record that a person left; flags the stages where they were focal point."""
    with open_engine(db) as engine:
        flagged = engine.alliances.person_left(
            person_id,
            left_on=parse_date(on, "on"),
            note=note,
            actor=Actor(name=actor, role="coordinator"),
        )
    typer.echo(f"person {person_id} left")
    for cycle_id, stages in flagged.items():
        typer.echo(f"  cycle {cycle_id}: {', '.join(stages) or 'no stage'} need a new focal point")
