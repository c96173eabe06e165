"""Registering alliances, organisations, memberships and people: valid input is stored, bad
input gets an error naming the field and changes nothing."""

from __future__ import annotations

from datetime import date

import pytest

from cycle_engine import CycleEngine, InvalidInput, NotFound
from cycle_engine.errors import AllianceNotFound, OrganisationNotFound

from .conftest import World


def test_alliance_keeps_theme_zone_language_and_working_hours(domain: CycleEngine) -> None:
    """An alliance stores its theme, IANA zone, language, working hours and weekend."""
    alliance = domain.alliances.create_alliance(
        "Alianza Norte",
        "Rural enterprise development",
        timezone="America/Tegucigalpa",
        language="es",
        working_hours_start=8,
        working_hours_end=16,
        weekend_days="6,5",
    )
    stored = domain.alliances.get_alliance(alliance.id or 0)
    assert (stored.theme, stored.timezone, stored.language) == (
        "Rural enterprise development",
        "America/Tegucigalpa",
        "es",
    )
    assert (stored.working_hours_start, stored.working_hours_end, stored.weekend_days) == (
        8,
        16,
        "5,6",
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"timezone": "America/Atlantis"}, "timezone"),
        ({"language": "de"}, "language"),
        ({"working_hours_start": 18, "working_hours_end": 9}, "working_hours"),
        ({"weekend_days": "7"}, "weekend_days"),
    ],
)
def test_bad_alliance_input_is_refused(
    domain: CycleEngine, kwargs: dict[str, object], field: str
) -> None:
    """A bad zone, language, hours or weekend is refused naming the field; nothing is stored."""
    with pytest.raises(InvalidInput) as error:
        domain.alliances.create_alliance("Alianza Sur", "Seeds", **kwargs)  # type: ignore[arg-type]
    assert error.value.field == field
    assert domain.alliances.list_alliances() == []


def test_organisation_sits_in_several_alliances(world: World) -> None:
    """One organisation can be a member of two alliances and is listed in both."""
    alliances = world.engine.alliances.alliances_of(world.research)
    assert sorted(a.name for a in alliances) == ["Alianza Test", "Other Alliance"]
    members = [
        m.organisation.name for m in world.engine.alliances.alliance_members(world.other_alliance)
    ]
    assert members == ["Centro de Investigación", "Kenya Seeds"]


def test_joining_twice_or_unknown_ids_fail_clearly(world: World) -> None:
    """Joining twice, an unknown organisation or an unknown alliance each get a clear error."""
    e = world.engine
    with pytest.raises(InvalidInput, match="already a member"):
        e.alliances.join_alliance(world.alliance, world.ngo)
    with pytest.raises(OrganisationNotFound, match="organisation 999"):
        e.alliances.join_alliance(world.alliance, 999)
    with pytest.raises(AllianceNotFound):
        e.alliances.join_alliance(999, world.ngo)


def test_organisation_kind_must_be_one_the_method_names(domain: CycleEngine) -> None:
    """Organisation kinds are research, ngo, donor, government, private or local."""
    with pytest.raises(InvalidInput, match="kind: must be one of research, ngo"):
        domain.alliances.add_organisation("Acme", "startup", "Honduras")
    assert domain.alliances.list_organisations() == []


def test_person_takes_organisation_zone_and_needs_unique_email(world: World) -> None:
    """A person defaults to the organisation's zone; a second registration of an email fails."""
    person = world.engine.alliances.add_person(
        "Eva Ruiz", "Eva@Example.org", world.ngo, joined_on=date(2025, 3, 1), language="es"
    )
    assert person.timezone == "America/Tegucigalpa"
    assert person.email == "eva@example.org"
    with pytest.raises(InvalidInput, match="already registered"):
        world.engine.alliances.add_person("Eva Two", "eva@example.org", world.ngo)
    with pytest.raises(InvalidInput, match="not an email"):
        world.engine.alliances.add_person("No Mail", "nomail", world.ngo)


def test_role_needs_a_person_of_a_member_organisation(world: World) -> None:
    """Only people whose organisation sits in the alliance can coordinate or manage it."""
    e = world.engine
    with pytest.raises(InvalidInput, match="outside alliance"):
        e.alliances.grant_role(world.alliance, world.omar, "manager")
    e.alliances.grant_role(world.alliance, world.carla, "manager")
    assert [p.name for p in e.alliances.people_with_role(world.alliance, "manager")] == [
        "Carla Zelaya"
    ]
    with pytest.raises(NotFound):
        e.alliances.grant_role(world.alliance, 999, "manager")


def test_cycle_belongs_to_alliance_and_topic(world: World) -> None:
    """A cycle started on an alliance keeps the alliance and topic; an unknown alliance fails."""
    cycle = world.engine.start_cycle(
        "learning-cycle", "Coffee buyers", alliance_id=world.alliance, topic="Market access"
    )
    assert (cycle.alliance_id, cycle.topic) == (world.alliance, "Market access")
    with pytest.raises(AllianceNotFound):
        world.engine.start_cycle("learning-cycle", "Nowhere", alliance_id=999)
    assert len(world.engine.cycles.list_cycles()) == 1
