"""Seeding the demo alliance: 19 partner agencies and 57 local organisations, two people per
agency and one per local organisation, a coordinator and a manager, loaded from the partner
list `partners.csv` through the same import a coordinator uses (all or nothing, one
transaction). Used by `cycle_engine.demo`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from cycle_engine.actors import Actor
from cycle_engine.alliances.onboarding_files import to_csv
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


#: The demo's partner list, as a coordinator would keep it: the file `seed_alliance` imports.
PARTNER_LIST = Path(__file__).with_name("partners.csv")
#: When everyone joined: about a year before the story starts.
JOINED_DAYS_AGO = 400


def partner_list() -> str:
    """The partner list from `demo.data`, as the CSV file the import reads (`PARTNER_LIST` is
    this, written once; a test keeps the two equal)."""
    organisations: list[dict[str, str]] = []
    persons: list[dict[str, str]] = []
    for index, (name, kind, country, domain, contact, language) in enumerate(PARTNERS):
        organisations.append(
            {
                "name": name,
                "kind": kind,
                "country": country,
                "timezone": ZONES[country],
            }
        )
        role = {0: "coordinator", 9: "manager"}.get(index, "")
        persons.append(
            {
                "name": contact,
                "email": email_for(contact, domain),
                "organisation": name,
                "language": language,
                "role": role,
            }
        )
        deputy = local_contact(index + 1 + 40)
        persons.append(
            {
                "name": deputy,
                "email": email_for(deputy, domain),
                "organisation": name,
                "language": "es",
            }
        )
    for index, (name, country, partner_index) in enumerate(local_organisations()):
        organisations.append(
            {
                "name": name,
                "kind": "local",
                "country": country,
                "timezone": ZONES[country],
                "works_with": PARTNERS[partner_index][0],
            }
        )
        contact = local_contact(index)
        persons.append(
            {
                "name": contact,
                "email": email_for(f"{contact} {index}", "socios"),
                "organisation": name,
                "language": "es",
            }
        )
    return to_csv(organisations, persons)


def seed_alliance(engine: CycleEngine, clock: ManualClock) -> Seed:
    """Create the demo alliance and load its partner list through the import a coordinator
    uses (`engine.alliances.onboarding`), then note the ids the story needs."""
    seed = Seed()
    now = clock.now()
    joined = (now - timedelta(days=JOINED_DAYS_AGO)).date()
    alliance = engine.alliances.create_alliance(**ALLIANCE)  # type: ignore[arg-type]
    assert alliance.id is not None
    seed.alliance_id = alliance.id
    content = PARTNER_LIST.read_bytes().replace(b"DAY", joined.isoformat().encode())
    result = engine.alliances.onboarding.import_file(
        alliance.id, content, "text/csv", actor=Actor(name="demo", role="admin")
    )
    for index, (name, _, _, domain, contact, _) in enumerate(PARTNERS):
        org_id = result.organisation_ids[name]
        seed.partners.append(org_id)
        seed.contact[org_id] = result.person_ids[email_for(contact, domain)]
        deputy = local_contact(index + 1 + 40)
        seed.deputy[org_id] = result.person_ids[email_for(deputy, domain)]
    for index, (name, _, _) in enumerate(local_organisations()):
        org_id = result.organisation_ids[name]
        seed.locals.append(org_id)
        contact = local_contact(index)
        seed.contact[org_id] = result.person_ids[email_for(f"{contact} {index}", "socios")]
    seed.summary = (
        f"alliance {seed.alliance_id} {ALLIANCE['name']!r}: {len(seed.partners)} partner "
        f"agencies and {len(seed.locals)} local organisations in "
        f"{len(ZONES)} countries, {len(seed.contact) + len(seed.deputy)} people "
        f"(imported from {PARTNER_LIST.name})"
    )
    return seed
