"""Who must act on a stuck cycle, by when, and why: the answer the overview, the stalled page and
the cycle page give in plain words (issue 14).

A list used to say *that* a cycle was stuck ("No activity"); the real blocker (its focal point
left, a coordinator must name a new one) showed only on the cycle page. For each cycle this
module reads, from the engine's own queries:

- the open stage's lead organisation and its focal point and deputy (with their organisation,
  country, and whether they left);
- the first way on that is blocked (the template's order, skipping detours to hold stages and
  triggers that only want a note), with the engine's reasons, and who the template lets fire it;
- so the person or role who must act: the lead's focal point when the lead may move the stage
  on, the alliance's coordinators when the template says so or when a focal point must be named;
- and the one-click follow-up where one exists: a nudge (email the stage's people) or the cycle
  page's role form (name a new focal point).

Nothing here changes anything or decides anything the engine does not: it only arranges the
engine's answers for people. One `Directory` (people, organisations, coordinators) is read per
page; each cycle adds its participation rows and its trigger options.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from cycle_engine.engine import CycleEngine
from cycle_engine.spec.machine import TriggerOption
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.store.tables import ACTIVE, CycleRecord
from cycle_engine.store.tables.alliances import (
    OrganisationRecord,
    ParticipationRecord,
    PersonRecord,
)

Fix = Literal["nudge", "assign"]
#: A guard whose failure means a coordinator must name a lead or a focal point.
ROLE_GUARDS = frozenset({"roles_assigned"})


@dataclass(frozen=True, kw_only=True)
class Contact:
    """A person who must act (or who left), as a list shows them."""

    name: str
    role: str  # "focal point of the lead organisation", "coordinator"
    organisation: str | None = None
    country: str | None = None
    email: str | None = None
    left_on: date | None = None

    @property
    def left(self) -> bool:
        return self.left_on is not None


@dataclass(frozen=True, kw_only=True)
class WhoMustAct:
    """Why a cycle waits, who must do what about it, and the follow-up the page offers."""

    reason: str
    action: str
    contacts: tuple[Contact, ...]
    fix: Fix | None = None
    #: People this blocker is about who left (shown marked, never as the ones to act).
    departed: tuple[Contact, ...] = ()

    @property
    def who(self) -> str:
        """The contacts' names in one phrase, for a notice ("Ana (Coordinating NGO)")."""
        return ", ".join(
            f"{c.name} ({c.organisation})" if c.organisation else c.name for c in self.contacts
        )


@dataclass(kw_only=True)
class Directory:
    """An alliance's people, organisations and coordinators, read once for a page."""

    people: dict[int, PersonRecord] = field(default_factory=dict)
    organisations: dict[int, OrganisationRecord] = field(default_factory=dict)
    coordinators: list[PersonRecord] = field(default_factory=list)

    @classmethod
    def of(cls, engine: CycleEngine, alliance_id: int | None) -> Directory:
        if alliance_id is None:
            return cls()
        people = engine.alliances.list_people(alliance_id=alliance_id)
        members = engine.alliances.alliance_members(alliance_id)
        return cls(
            people={p.id: p for p in people if p.id is not None},
            organisations={
                m.organisation.id: m.organisation for m in members if m.organisation.id is not None
            },
            coordinators=engine.alliances.people_with_role(alliance_id, "coordinator"),
        )

    def complete(self, engine: CycleEngine, rows: Iterable[ParticipationRecord]) -> None:
        """Add the people and organisations `rows` name that the alliance no longer lists (an
        organisation that left the alliance keeps its rows, flagged, until they are replaced)."""
        for row in rows:
            if row.organisation_id not in self.organisations:
                self.organisations[row.organisation_id] = engine.alliances.get_organisation(
                    row.organisation_id
                )
            for person_id in (row.focal_point_id, row.deputy_id):
                if person_id is not None and person_id not in self.people:
                    self.people[person_id] = engine.alliances.get_person(person_id)

    def contact(self, person: PersonRecord, role: str) -> Contact:
        organisation = self.organisations.get(person.organisation_id or 0)
        return Contact(
            name=person.name,
            role=role,
            organisation=organisation.name if organisation else None,
            country=organisation.country if organisation else None,
            email=person.email,
            left_on=person.left_on,
        )

    def coordinator_contacts(self) -> tuple[Contact, ...]:
        return tuple(self.contact(p, "coordinator") for p in self.coordinators if p.left_on is None)


def _blocking_option(
    options: Iterable[TriggerOption], spec: TemplateSpec
) -> tuple[TriggerOption | None, TriggerOption | None]:
    """(the first way on that is blocked, the first that is allowed), in the template's order.

    Detours to hold stages and triggers blocked only by a missing note are not ways on."""
    holds = {s.key for s in spec.stages if s.hold}
    blocked = allowed = None
    for option in options:
        if option.dest in holds:
            continue
        if option.allowed:
            allowed = allowed or option
        elif option.reasons and not all("note is required" in r for r in option.reasons):
            blocked = blocked or option
    return blocked, allowed


def _guards_of(spec: TemplateSpec, state: str, trigger: str) -> set[str]:
    return {
        guard.name
        for t in spec.transitions
        if t.trigger == trigger and state in t.sources
        for guard in t.guards
    }


def _trigger_title(trigger: str) -> str:
    return trigger.replace("_", " ").capitalize()


def who_must_act(
    engine: CycleEngine, directory: Directory, cycle: CycleRecord
) -> WhoMustAct | None:
    """Who must act on `cycle`'s open stage and why; None for a finished or standalone cycle."""
    if cycle.status != ACTIVE or cycle.id is None or cycle.alliance_id is None:
        return None
    spec = engine.templates.spec_of(cycle.template_id)
    state = cycle.state
    title = spec.stage(state).title if spec.has_stage(state) else state
    rows = [r for r in engine.work.participants(cycle.id) if r.stage == state]
    directory.complete(engine, rows)
    coordinators = directory.coordinator_contacts()
    options = engine.cycles.available_triggers(cycle.id)
    blocked, allowed = _blocking_option(options, spec)
    way = blocked or allowed
    lead_problem = _lead_problem(directory, rows, title)
    if lead_problem is not None and (way is None or "lead" in way.roles):
        reason, departed = lead_problem
        return WhoMustAct(
            reason=reason,
            action=f"name a lead organisation's focal point for {title}",
            contacts=coordinators,
            fix="assign",
            departed=departed,
        )
    leads = _lead_contacts(directory, rows)
    if blocked is not None:
        role_guard = bool(_guards_of(spec, state, blocked.trigger) & ROLE_GUARDS)
        by_lead = "lead" in blocked.roles and not role_guard and leads
        reason = "; ".join(blocked.reasons)
        departed = _departed_in(directory, blocked.reasons)
        if role_guard:
            action = "give every later stage a lead organisation with an active focal point"
        else:
            action = f"do what “{_trigger_title(blocked.trigger)}” needs: {blocked.reasons[0]}"
        return WhoMustAct(
            reason=reason,
            action=action,
            contacts=leads if by_lead else coordinators,
            fix="assign" if role_guard else "nudge",
            departed=departed,
        )
    if allowed is not None:
        by_lead = "lead" in allowed.roles and leads
        return WhoMustAct(
            reason=f"nothing blocks it: “{_trigger_title(allowed.trigger)}” can be marked now",
            action=f"mark “{_trigger_title(allowed.trigger)}” when {title} is done",
            contacts=leads if by_lead else coordinators,
            fix="nudge",
        )
    return WhoMustAct(
        reason=f"no way on from {title} is open", action="decide", contacts=coordinators
    )


def _lead_problem(
    directory: Directory, rows: list[ParticipationRecord], title: str
) -> tuple[str, tuple[Contact, ...]] | None:
    """Why the stage's lead cannot carry it (no lead, no focal point, the focal point left)."""
    leads = [r for r in rows if r.level == "lead"]
    if not leads:
        return f"no organisation leads {title}", ()
    problems: list[str] = []
    departed: list[Contact] = []
    for row in leads:
        organisation = directory.organisations.get(row.organisation_id)
        name = organisation.name if organisation else f"organisation {row.organisation_id}"
        person = directory.people.get(row.focal_point_id or 0)
        if person is None:
            problems.append(f"{name} leads {title} but has named no focal point")
        elif person.left_on is not None:
            departed.append(directory.contact(person, f"focal point of {name}"))
            problems.append(
                f"{name}'s focal point {person.name} left on {person.left_on:%d %b %Y};"
                " a coordinator must name a new one"
            )
        elif row.needs_focal_point:
            problems.append(
                f"{name} left the alliance, so its focal point {person.name} no longer carries"
                f" {title}; a coordinator must name a new lead or focal point"
            )
        else:
            return None  # one lead with an active focal point carries the stage
    return "; ".join(problems), tuple(departed)


def _lead_contacts(directory: Directory, rows: list[ParticipationRecord]) -> tuple[Contact, ...]:
    contacts: list[Contact] = []
    for row in rows:
        if row.level != "lead":
            continue
        if row.needs_focal_point:
            continue
        for person_id, role in ((row.focal_point_id, "focal point"), (row.deputy_id, "deputy")):
            person = directory.people.get(person_id or 0)
            if person is not None and person.left_on is None:
                contacts.append(directory.contact(person, f"{role} of the lead organisation"))
    return tuple(contacts)


def _departed_in(directory: Directory, reasons: Iterable[str]) -> tuple[Contact, ...]:
    """People who left and whom the reasons name (a focal point of a later stage)."""
    text = " ".join(reasons)
    return tuple(
        directory.contact(person, "left")
        for person in directory.people.values()
        if person.left_on is not None and person.name in text
    )


def blockers_for(engine: CycleEngine, cycles: Iterable[CycleRecord]) -> dict[int, WhoMustAct]:
    """`who_must_act` for each active cycle of one alliance (or standalone), by cycle id."""
    found: dict[int, WhoMustAct] = {}
    directories: dict[int | None, Directory] = {}
    for cycle in cycles:
        if cycle.id is None:
            continue
        directory = directories.get(cycle.alliance_id)
        if directory is None:
            directory = directories[cycle.alliance_id] = Directory.of(engine, cycle.alliance_id)
        answer = who_must_act(engine, directory, cycle)
        if answer is not None:
            found[cycle.id] = answer
    return found
