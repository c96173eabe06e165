"""Who gets a notice: people chosen by the roles a rule names, and the escalation ladder.

Roles come from the alliance domain (`recipients_for_stage`): `focal_point` and `deputy`
(named on a participation row), `lead` / `active` / `informed` (the organisation's level),
`coordinator` and `manager` (of the cycle's alliance), `follower` (follows the cycle). The
escalation ladder for a step that stays overdue climbs one rung per overdue reminder: the focal
point keeps the reminders, then the deputy, then the lead organisation's other people, then the
coordinators are told.
Also how a person appears inside another person's email (`describe_person`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from cycle_engine.alliances.participation import recipients_for_stage
from cycle_engine.alliances.roster import Recipient
from cycle_engine.store.tables.alliances import (
    OrganisationRecord,
    ParticipationRecord,
    PersonRecord,
)

#: Rungs of the escalation ladder above the focal point, in order.
LADDER = ("deputy", "organisation_lead", "coordinator")
#: When one person holds several roles, the email speaks to the first of these.
ROLE_ORDER = (
    "focal_point",
    "deputy",
    "lead",
    "active",
    "coordinator",
    "manager",
    "informed",
    "follower",
)
#: Roles that carry the step and so get action links (acknowledge, done, more time, snooze).
RESPONSIBLE = frozenset({"focal_point", "deputy", "lead", "active"})


@dataclass(frozen=True, kw_only=True)
class Addressee:
    """One person to write to and the role the email addresses them in."""

    person: Recipient
    role: str


def main_role(roles: Iterable[str]) -> str:
    held = set(roles)
    return next((role for role in ROLE_ORDER if role in held), "person")


def by_roles(session: Session, cycle_id: int, stage: str, roles: Sequence[str]) -> list[Addressee]:
    """People of `stage` holding any of `roles`, once each, addressed in their main role."""
    wanted = set(roles)
    chosen = []
    for person in recipients_for_stage(session, cycle_id, stage):
        matched = person.roles & wanted
        if matched:
            chosen.append(Addressee(person=person, role=main_role(matched)))
    return chosen


def ladder_rung(overdue_series: int, escalated: bool) -> int | None:
    """Index in LADDER told at overdue reminder `overdue_series` (None: nobody extra yet).

    Reminder 1 goes to the focal point only; reminder 2 adds the deputy, reminders 3 and later
    the lead organisation; the escalation itself goes to the coordinators.
    """
    if escalated:
        return len(LADDER) - 1
    if overdue_series < 2:
        return None
    return min(overdue_series - 2, len(LADDER) - 2)


def escalation_addressees(
    session: Session, cycle_id: int, stage: str, rung: int
) -> tuple[str, list[Addressee]]:
    """The rung actually reached (skipping empty rungs upward) and its people."""
    everyone = recipients_for_stage(session, cycle_id, stage)
    for index in range(rung, len(LADDER)):
        level = LADDER[index]
        if level == "organisation_lead":
            people = _lead_organisation_people(session, cycle_id, stage, everyone)
        else:
            people = [p for p in everyone if level in p.roles]
        if people:
            return level, [Addressee(person=p, role=level) for p in people]
    return LADDER[-1], []


def responsible_person(session: Session, cycle_id: int, stage: str) -> Recipient | None:
    """Who carries the step: the lead organisation's focal point, else a lead person, else any
    focal point (None when the stage has no participation yet)."""
    people = recipients_for_stage(session, cycle_id, stage)
    for wanted in ({"focal_point", "lead"}, {"lead"}, {"focal_point"}):
        for person in people:
            if wanted <= person.roles:
                return person
    return None


def _lead_organisation_people(
    session: Session, cycle_id: int, stage: str, everyone: list[Recipient]
) -> list[Recipient]:
    """Current people of the lead organisations who are neither focal point nor deputy."""
    rows = session.exec(
        select(ParticipationRecord).where(
            ParticipationRecord.cycle_id == cycle_id,
            ParticipationRecord.stage == stage,
            ParticipationRecord.level == "lead",
        )
    ).all()
    named = {p for row in rows for p in (row.focal_point_id, row.deputy_id) if p is not None}
    organisations = {row.organisation_id for row in rows}
    if not organisations:
        return []
    people = session.exec(
        select(PersonRecord)
        .where(
            col(PersonRecord.organisation_id).in_(organisations),
            col(PersonRecord.left_on).is_(None),
        )
        .order_by(col(PersonRecord.id))
    ).all()
    return [
        Recipient(
            person_id=p.id,
            name=p.name,
            email=p.email,
            language=p.language,
            timezone=p.timezone,
            organisation_id=p.organisation_id,
            roles=frozenset({"organisation_lead"}),
        )
        for p in people
        if p.id is not None and p.id not in named
    ]


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
