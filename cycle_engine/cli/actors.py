"""Who acts in a CLI command: `--as NAME --role ROLE` for an operator, or `--person EMAIL` for a
person of the alliance, whose rights follow from their grants and their organisation's level.

Two sets of roles meet here, and people confused them: an actor's role is who they are (admin,
coordinator, manager, partner, system); a template's `lead` and `active` are levels an
organisation holds on a stage. A partner fires a trigger reserved to `lead` by acting as a person
of the lead organisation; `--role lead` is refused with that explanation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cycle_engine.actors import ROLES, Actor
from cycle_engine.errors import InvalidInput

if TYPE_CHECKING:
    from cycle_engine.engine import CycleEngine
    from cycle_engine.store.tables.alliances import PersonRecord

#: Levels an organisation holds on a stage (template roles), never an actor's role.
STAGE_LEVELS = ("lead", "active", "informed", "focal_point", "deputy")

ActorOption = Annotated[str, typer.Option("--as", help="Who acts (recorded in history).")]
RoleOption = Annotated[str, typer.Option("--role", help=f"The actor's role: {', '.join(ROLES)}.")]
PersonOption = Annotated[
    str | None,
    typer.Option(
        "--person",
        help="Act as this person (email or id): their alliance role, or their organisation's "
        "level on the stage (lead, active), decides what they may do.",
        show_default=False,
    ),
]


def acting(
    engine: CycleEngine,
    name: str,
    role: str,
    person: str | None,
    *,
    alliance_id: int | None = None,
) -> Actor:
    """The actor a command runs as; raises InvalidInput naming the option that is wrong."""
    if person is None:
        return operator(name, role)
    found = _person(engine, person)
    assert found.id is not None
    grants = {
        grant.role
        for grant in engine.alliances.alliance_roles_of(found.id)
        if alliance_id is None or grant.alliance_id == alliance_id
    }
    held = next((r for r in ("coordinator", "manager") if r in grants), "partner")
    return Actor(
        name=found.name, role=held, person_id=found.id, organisation_id=found.organisation_id
    )


def operator(name: str, role: str) -> Actor:
    """An operator acting with an actor role; explains a stage level given as a role."""
    if role in STAGE_LEVELS:
        raise InvalidInput(
            "--role",
            f"{role!r} is a level an organisation holds on a stage, not an actor role; act as "
            f"a person of that organisation with --person EMAIL (actor roles: {', '.join(ROLES)})",
        )
    if role not in ROLES:
        raise InvalidInput("--role", f"must be one of {', '.join(ROLES)}; got {role!r}")
    return Actor(name=name, role=role)


def _person(engine: CycleEngine, reference: str) -> PersonRecord:
    if reference.isdigit():
        return engine.alliances.get_person(int(reference))
    found = engine.alliances.credentials.current_person(reference)
    if found is None:
        raise InvalidInput("--person", f"no current person has the address {reference!r}")
    return found
