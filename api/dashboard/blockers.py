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
page; each cycle adds its participation rows and its trigger options. The words are the
reader's (`words`, English by default); names, organisations and the engine's own reasons are
shown as they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from cycle_engine.api.dashboard.formatting import short_date
from cycle_engine.engine import CycleEngine
from cycle_engine.notifications.reader import ENGLISH, Words
from cycle_engine.notifications.template_texts import translate, trigger_label
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
    #: Template specs by id, read once per page (a page of fifty cycles shares one or two).
    specs: dict[int, TemplateSpec] = field(default_factory=dict)

    def spec(self, engine: CycleEngine, template_id: int) -> TemplateSpec:
        """The spec of a cycle's template version, read once for the page."""
        spec = self.specs.get(template_id)
        if spec is None:
            spec = self.specs[template_id] = engine.templates.spec_of(template_id)
        return spec

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
        """`person` as a list shows them, with `role` (already in the reader's words)."""
        organisation = self.organisations.get(person.organisation_id or 0)
        return Contact(
            name=person.name,
            role=role,
            organisation=organisation.name if organisation else None,
            country=organisation.country if organisation else None,
            email=person.email,
            left_on=person.left_on,
        )

    def coordinator_contacts(self, words: Words = ENGLISH) -> tuple[Contact, ...]:
        role = words.gettext("coordinator")
        return tuple(self.contact(p, role) for p in self.coordinators if p.left_on is None)


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


def _stage_title(spec: TemplateSpec, state: str, language: str) -> str:
    if not spec.has_stage(state):
        return state
    stage = spec.stage(state)
    own = stage.text_in(language)
    return (own.title if own and own.title else None) or translate(stage.title, language) or state


def who_must_act(
    engine: CycleEngine,
    directory: Directory,
    cycle: CycleRecord,
    words: Words = ENGLISH,
    *,
    participants: list[ParticipationRecord] | None = None,
    options: list[TriggerOption] | None = None,
) -> WhoMustAct | None:
    """Who must act on `cycle`'s open stage and why, in `words`; None for a finished or
    standalone cycle. `participants` (the cycle's rows) and `options` (its triggers) are
    read here unless given (`blockers_for` reads them for a whole page at once)."""
    if cycle.status != ACTIVE or cycle.id is None or cycle.alliance_id is None:
        return None
    _ = words.gettext
    spec = directory.spec(engine, cycle.template_id)
    state = cycle.state
    title = _stage_title(spec, state, words.language)
    if participants is None:
        participants = engine.work.participants(cycle.id)
    rows = [r for r in participants if r.stage == state]
    directory.complete(engine, rows)
    coordinators = directory.coordinator_contacts(words)
    if options is None:
        options = engine.cycles.available_triggers(cycle.id)
    blocked, allowed = _blocking_option(options, spec)
    way = blocked or allowed
    lead_problem = _lead_problem(directory, rows, title, words)
    if lead_problem is not None and (way is None or "lead" in way.roles):
        reason, departed = lead_problem
        return WhoMustAct(
            reason=reason,
            action=_("name a lead organisation's focal point for %(stage)s", stage=title),
            contacts=coordinators,
            fix="assign",
            departed=departed,
        )
    leads = _lead_contacts(directory, rows, words)
    if blocked is not None:
        role_guard = bool(_guards_of(spec, state, blocked.trigger) & ROLE_GUARDS)
        by_lead = "lead" in blocked.roles and not role_guard and leads
        reason = "; ".join(blocked.reasons)
        departed = _departed_in(directory, blocked.reasons, words)
        if role_guard:
            action = _("give every later stage a lead organisation with an active focal point")
        else:
            action = _(
                "do what “%(trigger)s” needs: %(reason)s",
                trigger=trigger_label(blocked.trigger, words.language),
                reason=blocked.reasons[0],
            )
        return WhoMustAct(
            reason=reason,
            action=action,
            contacts=leads if by_lead else coordinators,
            fix="assign" if role_guard else "nudge",
            departed=departed,
        )
    if allowed is not None:
        by_lead = "lead" in allowed.roles and leads
        trigger = trigger_label(allowed.trigger, words.language)
        return WhoMustAct(
            reason=_("nothing blocks it: “%(trigger)s” can be marked now", trigger=trigger),
            action=_("mark “%(trigger)s” when %(stage)s is done", trigger=trigger, stage=title),
            contacts=leads if by_lead else coordinators,
            fix="nudge",
        )
    return WhoMustAct(
        reason=_("no way on from %(stage)s is open", stage=title),
        action=_("decide"),
        contacts=coordinators,
    )


def _lead_problem(
    directory: Directory, rows: list[ParticipationRecord], title: str, words: Words
) -> tuple[str, tuple[Contact, ...]] | None:
    """Why the stage's lead cannot carry it (no lead, no focal point, the focal point left)."""
    _ = words.gettext
    leads = [r for r in rows if r.level == "lead"]
    if not leads:
        return _("no organisation leads %(stage)s", stage=title), ()
    problems: list[str] = []
    departed: list[Contact] = []
    for row in leads:
        organisation = directory.organisations.get(row.organisation_id)
        name = (
            organisation.name if organisation else _("organisation %(id)s", id=row.organisation_id)
        )
        person = directory.people.get(row.focal_point_id or 0)
        if person is None:
            problems.append(
                _("%(org)s leads %(stage)s but has named no focal point", org=name, stage=title)
            )
        elif person.left_on is not None:
            departed.append(directory.contact(person, _("focal point of %(org)s", org=name)))
            problems.append(
                _(
                    "%(org)s's focal point %(person)s left on %(day)s;"
                    " a coordinator must name a new one",
                    org=name,
                    person=person.name,
                    day=short_date(person.left_on, words.language),
                )
            )
        elif row.needs_focal_point:
            problems.append(
                _(
                    "%(org)s left the alliance, so its focal point %(person)s no longer carries"
                    " %(stage)s; a coordinator must name a new lead or focal point",
                    org=name,
                    person=person.name,
                    stage=title,
                )
            )
        else:
            return None  # one lead with an active focal point carries the stage
    return "; ".join(problems), tuple(departed)


def _lead_contacts(
    directory: Directory, rows: list[ParticipationRecord], words: Words
) -> tuple[Contact, ...]:
    roles = (
        words.gettext("focal point of the lead organisation"),
        words.gettext("deputy of the lead organisation"),
    )
    contacts: list[Contact] = []
    for row in rows:
        if row.level != "lead":
            continue
        if row.needs_focal_point:
            continue
        for person_id, role in zip((row.focal_point_id, row.deputy_id), roles, strict=True):
            person = directory.people.get(person_id or 0)
            if person is not None and person.left_on is None:
                contacts.append(directory.contact(person, role))
    return tuple(contacts)


def _departed_in(directory: Directory, reasons: Iterable[str], words: Words) -> tuple[Contact, ...]:
    """People who left and whom the reasons name (a focal point of a later stage)."""
    text = " ".join(reasons)
    return tuple(
        directory.contact(person, words.gettext("left"))
        for person in directory.people.values()
        if person.left_on is not None and person.name in text
    )


def blockers_for(
    engine: CycleEngine, cycles: Iterable[CycleRecord], words: Words = ENGLISH
) -> dict[int, WhoMustAct]:
    """`who_must_act` for each active cycle of one alliance (or standalone), by cycle id, in
    `words` (the reader's)."""
    found: dict[int, WhoMustAct] = {}
    directories: dict[int | None, Directory] = {}
    asked = [c for c in cycles if c.status == ACTIVE and c.alliance_id is not None]
    stage_of = {cycle.id: cycle.state for cycle in asked if cycle.id is not None}
    # the page's participation in one query and its triggers in one session, not per cycle
    participants = engine.work.participants_of(list(stage_of), stage_of)
    options = engine.cycles.triggers_of(list(stage_of))
    for cycle in asked:
        if cycle.id is None or cycle.id not in options:
            continue
        directory = directories.get(cycle.alliance_id)
        if directory is None:
            directory = directories[cycle.alliance_id] = Directory.of(engine, cycle.alliance_id)
        answer = who_must_act(
            engine,
            directory,
            cycle,
            words,
            participants=participants[cycle.id],
            options=options[cycle.id],
        )
        if answer is not None:
            found[cycle.id] = answer
    return found
