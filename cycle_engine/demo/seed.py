"""Seeding the demo alliance in one transaction: 19 partner agencies and 57 local
organisations from `demo_data`, two people per agency and one per local organisation, a
coordinator and a manager. Used by `cycle_engine.demo`."""

from __future__ import annotations

from datetime import timedelta

from cycle_engine.alliances import alliances as registry
from cycle_engine.alliances import people
from cycle_engine.demo.data import (
    ALLIANCE,
    PARTNERS,
    ZONES,
    email_for,
    local_contact,
    local_organisations,
)
from cycle_engine.engine import CycleEngine
from cycle_engine.testing import ManualClock


class Seed:
    """Ids of what the seed created, by role in the story."""

    def __init__(self) -> None:
        self.alliance_id = 0
        self.partners: list[int] = []
        self.locals: list[int] = []
        self.contact: dict[int, int] = {}  # organisation id -> person id
        self.deputy: dict[int, int] = {}
        self.summary = ""


def seed_alliance(engine: CycleEngine, clock: ManualClock) -> Seed:
    seed = Seed()
    now = clock.now()
    joined = (now - timedelta(days=400)).date()
    with engine.db.transaction() as session:
        alliance = registry.create_alliance(session, now, **ALLIANCE)  # type: ignore[arg-type]
        assert alliance.id is not None
        seed.alliance_id = alliance.id
        for name, kind, country, domain, contact, language in PARTNERS:
            org = registry.add_organisation(
                session, now, name=name, kind=kind, country=country, timezone=ZONES[country]
            )
            assert org.id is not None
            registry.join_alliance(
                session, alliance_id=alliance.id, organisation_id=org.id, joined_on=joined
            )
            seed.partners.append(org.id)
            person = people.add_person(
                session,
                name=contact,
                email=email_for(contact, domain),
                organisation_id=org.id,
                joined_on=joined,
                language=language,
            )
            deputy_name = local_contact(len(seed.partners) + 40)
            deputy = people.add_person(
                session,
                name=deputy_name,
                email=email_for(deputy_name, domain),
                organisation_id=org.id,
                joined_on=joined,
                language="es",
            )
            assert person.id is not None and deputy.id is not None
            seed.contact[org.id], seed.deputy[org.id] = person.id, deputy.id
        for index, (name, country, partner_index) in enumerate(local_organisations()):
            org = registry.add_organisation(
                session, now, name=name, kind="local", country=country, timezone=ZONES[country]
            )
            assert org.id is not None
            registry.join_alliance(
                session,
                alliance_id=alliance.id,
                organisation_id=org.id,
                joined_on=joined,
                works_with_id=seed.partners[partner_index],
            )
            seed.locals.append(org.id)
            contact = local_contact(index)
            person = people.add_person(
                session,
                name=contact,
                email=email_for(f"{contact} {index}", "socios"),
                organisation_id=org.id,
                joined_on=joined,
                language="es",
            )
            assert person.id is not None
            seed.contact[org.id] = person.id
        people.grant_role(
            session,
            alliance_id=alliance.id,
            person_id=seed.contact[seed.partners[0]],
            role="coordinator",
        )
        people.grant_role(
            session,
            alliance_id=alliance.id,
            person_id=seed.contact[seed.partners[9]],
            role="manager",
        )
    seed.summary = (
        f"alliance {seed.alliance_id} {ALLIANCE['name']!r}: {len(seed.partners)} partner "
        f"agencies and {len(seed.locals)} local organisations in "
        f"{len(ZONES)} countries, {len(seed.contact) + len(seed.deputy)} people"
    )
    return seed
