"""`cycle-engine cycle follow|unfollow|followers`: a member follows a cycle their organisation has
no role in, and hears its results (issue 12, item 5), added to the `cycle` group of
`cycle_engine.cli.cycles`. The engine decides who may make whom follow (`alliances.followers`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

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
from cycle_engine.cli.cycles import app
from cycle_engine.errors import InvalidInput

if TYPE_CHECKING:
    from cycle_engine.actors import Actor
    from cycle_engine.engine import CycleEngine
    from cycle_engine.store.tables.alliances import PersonRecord


@dataclass(frozen=True)
class _Follower:
    id: int
    name: str


FollowerArgument = Annotated[
    str, typer.Argument(help="The person who follows: their email address or id.")
]


def _follower(engine: CycleEngine, reference: str) -> PersonRecord:
    if reference.isdigit():
        return engine.alliances.get_person(int(reference))
    found = engine.alliances.credentials.current_person(reference)
    if found is None:
        raise InvalidInput("PERSON", f"no current person has the address {reference!r}")
    return found


def _who_and_follower(
    engine: CycleEngine,
    cycle_id: int,
    actor: str,
    role: str,
    acting_person: str | None,
    reference: str,
) -> tuple[Actor, _Follower]:
    """Who acts (within the cycle's alliance) and the person they make follow or stop."""
    alliance_id = engine.get_cycle(cycle_id).alliance_id
    who = acting(engine, actor, role, acting_person, alliance_id=alliance_id)
    person = _follower(engine, reference)
    assert person.id is not None
    return who, _Follower(id=person.id, name=person.name)


@app.command()
@reports_errors
def follow(
    cycle_id: int,
    person: FollowerArgument,
    db: DbOption = None,
    actor: ActorOption = "cli",
    role: RoleOption = "coordinator",
    acting_person: PersonOption = None,
) -> None:
    """Make a person of a member organisation follow the cycle: its results reach them."""
    with open_engine(db) as engine:
        who, follower = _who_and_follower(engine, cycle_id, actor, role, acting_person, person)
        engine.learning.follow_cycle(cycle_id, follower.id, actor=who)
    typer.echo(f"{follower.name} follows cycle {cycle_id}")


@app.command()
@reports_errors
def unfollow(
    cycle_id: int,
    person: FollowerArgument,
    db: DbOption = None,
    actor: ActorOption = "cli",
    role: RoleOption = "coordinator",
    acting_person: PersonOption = None,
) -> None:
    """Stop a person following the cycle (nothing changes when they did not follow it)."""
    with open_engine(db) as engine:
        who, follower = _who_and_follower(engine, cycle_id, actor, role, acting_person, person)
        stopped = engine.learning.unfollow_cycle(cycle_id, follower.id, actor=who)
    done = "no longer follows" if stopped else "did not follow"
    typer.echo(f"{follower.name} {done} cycle {cycle_id}")


@app.command()
@reports_errors
def followers(cycle_id: int, db: DbOption = None, json: JsonOption = False) -> None:
    """The people who follow the cycle, when they started and who added them."""
    with open_engine(db) as engine:
        rows = engine.learning.followers(cycle_id)
        people = {r.person_id: engine.alliances.get_person(r.person_id) for r in rows}
    if json:
        print_json(
            [
                {
                    "person_id": r.person_id,
                    "name": people[r.person_id].name,
                    "email": people[r.person_id].email,
                    "followed_at": r.followed_at,
                    "followed_by": r.followed_by,
                }
                for r in rows
            ]
        )
        return
    if not rows:
        typer.echo(f"nobody follows cycle {cycle_id}")
    for r in rows:
        person = people[r.person_id]
        typer.echo(
            f"{r.person_id:>5}  {person.name} <{person.email}>  since {when(r.followed_at)}"
            f"  (by {r.followed_by})"
        )
