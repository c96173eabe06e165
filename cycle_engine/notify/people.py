"""How a person appears inside another person's email: their name and organisation.

Used for "who asked for more time", "who marked it done" and "who carries the overdue step";
a person who cannot be found is named as such rather than failing the whole notice.
"""

from __future__ import annotations

from sqlmodel import Session

from cycle_engine.alliances.models import OrganisationRecord, PersonRecord
from cycle_engine.alliances.participation import Recipient

UNKNOWN = {"name": "(unknown person)", "organisation": "(unknown organisation)"}
NOBODY = {"name": "(nobody is named yet)", "organisation": "-"}


def describe_person(session: Session, who: Recipient | int | None) -> dict[str, str]:
    """`{"name", "organisation"}` for a recipient or a person id."""
    if who is None:
        return dict(NOBODY)
    if isinstance(who, Recipient):
        name, organisation_id = who.name, who.organisation_id
    else:
        person = session.get(PersonRecord, int(who))
        if person is None:
            return dict(UNKNOWN)
        name, organisation_id = person.name, person.organisation_id
    organisation = session.get(OrganisationRecord, organisation_id)
    return {"name": name, "organisation": organisation.name if organisation else "-"}
