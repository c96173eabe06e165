"""The alliance learning report: the method's synthesis above the cycles, built from records.

Table 1 gathers the learning log of every cycle by the three kinds of learning the method
documents (organisational learning practices, development interventions, specific knowledge and
capacity). The adoption figures count, from adoption rows only, how many partner agencies, local
organisations and countries used or adapted each tool (and all tools together), and break
adoptions down per organisation, organisation kind and country. Then outcomes, the agenda's open
questions and research needs, the cycles with which fed which, every organisation that ran a
testing context, and organisations that left. `render_alliance_report` renders it as Markdown or
HTML with the Jinja2 templates beside the cycle report's.

A local organisation is a member seated through a partner agency (`works_with_id`) or of kind
`local`; every other member is a partner agency.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlmodel import Session, col, select

from cycle_engine.alliances.adoption import OUTCOME_KIND_TITLES, adoptions_of, outcomes_of
from cycle_engine.alliances.agenda import agenda_of
from cycle_engine.alliances.alliances import members
from cycle_engine.alliances.common import get_alliance
from cycle_engine.alliances.departures import DepartedOrganisation, departures_of
from cycle_engine.alliances.follow_on import FedLink, MapCycle, cycle_map
from cycle_engine.alliances.learning import LEARNING_KIND_TITLES, LEARNING_KINDS
from cycle_engine.alliances.report import TEMPLATES
from cycle_engine.errors import InvalidInput
from cycle_engine.store.tables import CycleRecord
from cycle_engine.store.tables.alliances import (
    ORGANISATION_KIND_TITLES,
    ContextRecord,
    LearningOrganisationRecord,
    LearningRecord,
    OrganisationRecord,
    ProductRecord,
)
from cycle_engine.store.tables.learning import OUTCOME_KINDS

FORMATS = {"markdown": "alliance_report.md.j2", "html": "alliance_report.html.j2"}


@dataclass(frozen=True, kw_only=True)
class LearningLine:
    """One learning entry in Table 1."""

    cycle_id: int
    cycle: str
    title: str
    text: str
    organisations: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class LearningRow:
    """One row of Table 1: a kind of learning and its entries across cycles."""

    kind: str
    title: str
    entries: tuple[LearningLine, ...]
    organisations: int


@dataclass(frozen=True, kw_only=True)
class Spread:
    """How far something spread: partner agencies, local organisations and countries."""

    agencies: int
    local_organisations: int
    countries: int
    country_names: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class ToolAdoption:
    """One tool (a product of a cycle) and who used or adapted it, where."""

    product_id: int
    title: str
    form: str | None
    cycle_id: int
    cycle: str
    used: int
    adapted: int
    spread: Spread


@dataclass(frozen=True, kw_only=True)
class AdoptionCount:
    """Adoptions of one organisation, organisation kind or country."""

    name: str
    detail: str
    used: int
    adapted: int
    tools: int


@dataclass(frozen=True, kw_only=True)
class Adoptions:
    """The adoption part of the report."""

    spread: Spread
    tools: tuple[ToolAdoption, ...]
    by_organisation: tuple[AdoptionCount, ...]
    by_kind: tuple[AdoptionCount, ...]
    by_country: tuple[AdoptionCount, ...]


@dataclass(frozen=True, kw_only=True)
class OutcomeLine:
    kind: str
    kind_title: str
    title: str
    description: str
    organisation: str | None
    observed_on: date
    cycles: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class OpenQuestion:
    text: str
    raised_by: str
    reason: str | None
    cycles: tuple[str, ...]  # "cycle title: status"


@dataclass(frozen=True, kw_only=True)
class CycleLine:
    cycle_id: int
    title: str
    status: str
    started: date
    finished: date | None
    fed_by: tuple[int, ...]
    fed: tuple[int, ...]
    context_organisations: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class AllianceReport:
    """Everything the alliance learning report shows, ready for a template."""

    alliance_id: int
    alliance: str
    theme: str
    generated: datetime
    shape: Spread  # the alliance's members
    table1: tuple[LearningRow, ...]
    adoption: Adoptions  # `adoption.spread`: who used or adapted any tool, and where
    outcomes: tuple[OutcomeLine, ...]
    open_questions: tuple[OpenQuestion, ...]
    research_needs: tuple[OutcomeLine, ...]
    cycles: tuple[CycleLine, ...]
    departures: tuple[DepartedOrganisation, ...]


def _spread(
    organisation_ids: set[int],
    countries: set[str],
    local: set[int],
) -> Spread:
    return Spread(
        agencies=len(organisation_ids - local),
        local_organisations=len(organisation_ids & local),
        countries=len(countries),
        country_names=tuple(sorted(countries)),
    )


def build_alliance_report(session: Session, alliance_id: int, now: datetime) -> AllianceReport:
    """Compile the report from the alliance's records; raises AllianceNotFound."""
    alliance = get_alliance(session, alliance_id)
    seated = members(session, alliance_id)
    orgs = {m.organisation.id or 0: m.organisation for m in seated}
    local = {
        oid
        for m in seated
        if (oid := m.organisation.id or 0)
        and (m.works_with_id is not None or m.organisation.kind == "local")
    }
    shape = _spread(set(orgs), {o.country for o in orgs.values()}, local)
    mapped = cycle_map(session, alliance_id)
    titles = {c.cycle_id: c.title for c in mapped.cycles}
    outcomes = _outcomes(session, alliance_id, orgs, titles)
    return AllianceReport(
        alliance_id=alliance_id,
        alliance=alliance.name,
        theme=alliance.theme,
        generated=now,
        shape=shape,
        table1=_table1(session, alliance_id, titles),
        adoption=_adoption(session, alliance_id, orgs, local, titles),
        outcomes=tuple(line for line in outcomes if line.kind != "research_need"),
        research_needs=tuple(line for line in outcomes if line.kind == "research_need"),
        open_questions=tuple(
            OpenQuestion(
                text=item.record.text,
                raised_by=item.record.raised_by,
                reason=item.record.reason,
                cycles=tuple(f"{c.cycle_title}: {c.status}" for c in item.cycles),
            )
            for item in agenda_of(session, alliance_id)
            if item.open
        ),
        cycles=_cycles(session, mapped.cycles, mapped.links),
        departures=tuple(
            DepartedOrganisation(
                name=orgs[d.organisation_id].name if d.organisation_id in orgs else "?",
                left_on=d.left_on,
                reason=d.reason,
            )
            for d in departures_of(session, alliance_id)
        ),
    )


def _table1(session: Session, alliance_id: int, titles: dict[int, str]) -> tuple[LearningRow, ...]:
    rows = session.exec(
        select(LearningRecord)
        .join(CycleRecord, col(CycleRecord.id) == LearningRecord.cycle_id)
        .where(CycleRecord.alliance_id == alliance_id)
        .order_by(col(LearningRecord.cycle_id), col(LearningRecord.id))
    ).all()
    links = session.exec(
        select(
            LearningOrganisationRecord.learning_id, OrganisationRecord.id, OrganisationRecord.name
        )
        .join(
            OrganisationRecord,
            col(OrganisationRecord.id) == LearningOrganisationRecord.organisation_id,
        )
        .where(col(LearningOrganisationRecord.learning_id).in_([r.id for r in rows]))
        .order_by(col(OrganisationRecord.name))
    ).all()
    names: dict[int, list[tuple[int, str]]] = {}
    for learning_id, org_id, name in links:
        names.setdefault(learning_id, []).append((org_id or 0, name))
    table: list[LearningRow] = []
    for kind in LEARNING_KINDS:
        mine = [r for r in rows if r.kind == kind]
        organisations = {oid for r in mine for oid, _ in names.get(r.id or 0, [])}
        table.append(
            LearningRow(
                kind=kind,
                title=LEARNING_KIND_TITLES[kind],
                entries=tuple(
                    LearningLine(
                        cycle_id=r.cycle_id,
                        cycle=titles.get(r.cycle_id, str(r.cycle_id)),
                        title=r.title,
                        text=r.text,
                        organisations=tuple(n for _, n in names.get(r.id or 0, [])),
                    )
                    for r in mine
                ),
                organisations=len(organisations),
            )
        )
    return tuple(table)


def _adoption(
    session: Session,
    alliance_id: int,
    orgs: dict[int, OrganisationRecord],
    local: set[int],
    titles: dict[int, str],
) -> Adoptions:
    """Counts from adoption rows only: per tool, per organisation, kind and country."""
    adoptions = adoptions_of(session, alliance_id)
    products = {
        p.id: p
        for p in session.exec(
            select(ProductRecord).where(
                col(ProductRecord.id).in_(sorted({a.product_id for a in adoptions}))
            )
        )
    }
    tools: list[ToolAdoption] = []
    for product_id in sorted(products, key=lambda pid: (products[pid].title, pid or 0)):
        product = products[product_id]
        mine = [a for a in adoptions if a.product_id == product_id]
        tools.append(
            ToolAdoption(
                product_id=product_id or 0,
                title=product.title,
                form=product.form,
                cycle_id=product.cycle_id,
                cycle=titles.get(product.cycle_id, str(product.cycle_id)),
                used=sum(a.use == "used" for a in mine),
                adapted=sum(a.use == "adapted" for a in mine),
                spread=_spread({a.organisation_id for a in mine}, {a.country for a in mine}, local),
            )
        )

    def counts(key_of: dict[int, tuple[str, str]]) -> tuple[AdoptionCount, ...]:
        groups: dict[tuple[str, str], list[int]] = {}
        for index in range(len(adoptions)):
            groups.setdefault(key_of[index], []).append(index)
        return tuple(
            AdoptionCount(
                name=name,
                detail=detail,
                used=sum(adoptions[i].use == "used" for i in indexes),
                adapted=sum(adoptions[i].use == "adapted" for i in indexes),
                tools=len({adoptions[i].product_id for i in indexes}),
            )
            for (name, detail), indexes in sorted(groups.items())
        )

    def org_of(index: int) -> OrganisationRecord:
        return orgs[adoptions[index].organisation_id]

    return Adoptions(
        spread=_spread(
            {a.organisation_id for a in adoptions}, {a.country for a in adoptions}, local
        ),
        tools=tuple(tools),
        by_organisation=counts(
            {
                i: (
                    org_of(i).name,
                    f"{ORGANISATION_KIND_TITLES[org_of(i).kind]}, {org_of(i).country}",
                )
                for i in range(len(adoptions))
            }
        ),
        by_kind=counts(
            {
                i: (
                    ORGANISATION_KIND_TITLES[org_of(i).kind],
                    "local organisation"
                    if adoptions[i].organisation_id in local
                    else "partner agency",
                )
                for i in range(len(adoptions))
            }
        ),
        by_country=counts({i: (adoptions[i].country, "") for i in range(len(adoptions))}),
    )


def _outcomes(
    session: Session, alliance_id: int, orgs: dict[int, OrganisationRecord], titles: dict[int, str]
) -> list[OutcomeLine]:
    lines = [
        OutcomeLine(
            kind=o.record.kind,
            kind_title=OUTCOME_KIND_TITLES[o.record.kind],
            title=o.record.title,
            description=o.record.description,
            organisation=(
                None if o.record.organisation_id is None else orgs[o.record.organisation_id].name
            ),
            observed_on=o.record.observed_on,
            cycles=tuple(titles.get(c, str(c)) for c in o.cycle_ids),
        )
        for o in outcomes_of(session, alliance_id)
    ]
    order = {kind: i for i, kind in enumerate(OUTCOME_KINDS)}
    lines.sort(key=lambda line: (order[line.kind], line.observed_on, line.title))
    return lines


def _cycles(
    session: Session, cycles: tuple[MapCycle, ...], links: tuple[FedLink, ...]
) -> tuple[CycleLine, ...]:
    """Each cycle with the cycles that fed it and that it fed, and every organisation that ran
    one of its testing contexts."""
    runners: dict[int, set[str]] = {}
    ids = [c.cycle_id for c in cycles]
    for cycle_id, name in session.exec(
        select(ContextRecord.cycle_id, OrganisationRecord.name)
        .join(OrganisationRecord, col(OrganisationRecord.id) == ContextRecord.organisation_id)
        .where(col(ContextRecord.cycle_id).in_(ids))
    ):
        runners.setdefault(cycle_id, set()).add(name)
    lines: list[CycleLine] = []
    for cycle in cycles:
        lines.append(
            CycleLine(
                cycle_id=cycle.cycle_id,
                title=cycle.title,
                status=cycle.status,
                started=cycle.started.date(),
                finished=None if cycle.finished is None else cycle.finished.date(),
                fed_by=tuple(x.from_cycle_id for x in links if x.to_cycle_id == cycle.cycle_id),
                fed=tuple(x.to_cycle_id for x in links if x.from_cycle_id == cycle.cycle_id),
                context_organisations=tuple(sorted(runners.get(cycle.cycle_id, ()))),
            )
        )
    return tuple(lines)


def render_alliance_report(report: AllianceReport, fmt: str = "markdown") -> str:
    """Render `report` as `markdown` or `html`; raises InvalidInput for another format."""
    if fmt not in FORMATS:
        raise InvalidInput("format", f"must be one of {', '.join(FORMATS)}; got {fmt!r}")
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["cell"] = lambda value: str(value).replace("|", "\\|").replace("\n", " ")
    return env.get_template(FORMATS[fmt]).render(r=report)
