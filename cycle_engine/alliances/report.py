"""The cycle report: the documentation a partner would share, compiled from the records.

`build_report` gathers questions, participants and roles, planned against actual dates,
products, contexts and their results, answers and learning into a `CycleReport`;
`render_report` renders it with the Jinja2 templates beside this module (Markdown or HTML).
Available at any time; marked complete once the cycle is completed (its first final stage)
with every question answered; a draft before, documentation stage included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlmodel import Session, col, select

from cycle_engine.alliances.agenda import OPEN, question_states
from cycle_engine.alliances.contexts import contexts_of, results_of, round_numbers, round_visits
from cycle_engine.alliances.learning import LEARNING_KIND_TITLES, LEARNING_KINDS, learning_of
from cycle_engine.alliances.participation import participation_rows
from cycle_engine.alliances.products import PRODUCT_KIND_TITLES, products_of
from cycle_engine.alliances.questions import questions_of
from cycle_engine.alliances.workplan import plan_rows
from cycle_engine.errors import InvalidInput
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.store.tables import (
    FINISHED,
    CycleRecord,
    EventRecord,
    StageRecord,
    TemplateRecord,
)
from cycle_engine.store.tables.alliances import (
    ORGANISATION_KIND_TITLES,
    AllianceRecord,
    OrganisationRecord,
    PersonRecord,
)

TEMPLATES = Path(__file__).with_name("report_templates")
FORMATS = {"markdown": "report.md.j2", "html": "report.html.j2"}


@dataclass(frozen=True, kw_only=True)
class StageLine:
    """One work stage: who takes part, planned against actual dates, and what it yielded."""

    key: str
    title: str
    status: str  # done, current, ahead
    planned_start: date | None
    planned_due: date | None
    original_due: date | None
    actual_start: date | None
    actual_end: date | None
    visits: int
    days_late: int | None
    roles: tuple[tuple[str, str, str, str], ...]  # (level, organisation, focal point, deputy)
    moves: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class CycleReport:
    """Everything the report shows, ready for a template."""

    cycle_id: int
    title: str
    topic: str | None
    template_title: str
    template: str  # key and version, "learning-cycle v2"
    alliance: str | None
    theme: str | None
    timezone: str
    stage_title: str
    status: str
    complete: bool
    started: date
    finished: date | None
    generated: datetime
    questions: tuple[tuple[int, str, str | None], ...]
    organisations: tuple[tuple[str, str, str], ...]  # (name, kind title, country)
    stages: tuple[StageLine, ...]
    products: tuple[dict[str, str | None], ...]
    contexts: tuple[dict[str, object], ...]
    learning: tuple[tuple[str, tuple[tuple[str, str, str], ...]], ...]
    turning_points: tuple[str, ...]


def _local(moment: datetime | None, zone: ZoneInfo) -> date | None:
    return None if moment is None else moment.astimezone(zone).date()


def _template_label(session: Session, cycle: CycleRecord) -> str:
    record = session.get(TemplateRecord, cycle.template_id)
    return record.label if record is not None else cycle.template_key


def _organisation_names(session: Session) -> dict[int, str]:
    rows = session.exec(select(OrganisationRecord)).all()
    return {row.id: row.name for row in rows if row.id is not None}


def build_report(
    session: Session, cycle: CycleRecord, spec: TemplateSpec, now: datetime
) -> CycleReport:
    """Compile the report of `cycle` from its records."""
    assert cycle.id is not None
    alliance = session.get(AllianceRecord, cycle.alliance_id) if cycle.alliance_id else None
    zone = ZoneInfo(alliance.timezone if alliance else "UTC")
    orgs = _organisation_names(session)
    people = {p.id: p for p in session.exec(select(PersonRecord)) if p.id is not None}
    questions = questions_of(session, cycle.id)
    stage_lines = _stage_lines(session, cycle, spec, zone, orgs, people)
    involved = sorted(
        {r.organisation_id for r in participation_rows(session, cycle.id)}
        | {c.organisation_id for c in contexts_of(session, cycle.id)}  # who ran a context
    )
    organisations = []
    for org_id in involved:
        org = session.get(OrganisationRecord, org_id)
        if org is not None:
            organisations.append((org.name, ORGANISATION_KIND_TITLES[org.kind], org.country))
    # complete once the cycle finished in its first final stage (not while documenting, not
    # when cancelled) with every question answered (issue 19)
    finals = spec.final_stages
    done_documenting = cycle.status == FINISHED and bool(finals) and cycle.state == finals[0]
    complete = done_documenting and all(
        state.status != OPEN for state in question_states(session, cycle.id)
    )
    return CycleReport(
        cycle_id=cycle.id,
        title=cycle.title,
        topic=cycle.topic,
        template_title=spec.title,
        template=_template_label(session, cycle),
        alliance=alliance.name if alliance else None,
        theme=alliance.theme if alliance else None,
        timezone=zone.key,
        stage_title=spec.stage(cycle.state).title,
        status=cycle.status,
        complete=complete,
        started=_local(cycle.started_at, zone) or now.date(),
        finished=_local(cycle.finished_at, zone),
        generated=now,
        questions=tuple((q.position, q.text, q.answer) for q in questions),
        organisations=tuple(sorted(organisations)),
        stages=stage_lines,
        products=tuple(_products(session, cycle.id, spec, orgs, zone)),
        contexts=tuple(_contexts(session, cycle.id, spec, orgs, zone)),
        learning=_learning(session, cycle.id),
        turning_points=tuple(_turning_points(session, cycle.id, spec, zone)),
    )


def _stage_lines(
    session: Session,
    cycle: CycleRecord,
    spec: TemplateSpec,
    zone: ZoneInfo,
    orgs: dict[int, str],
    people: dict[int, PersonRecord],
) -> tuple[StageLine, ...]:
    assert cycle.id is not None
    plan = {row.stage: row for row in plan_rows(session, cycle.id)}
    visits = list(
        session.exec(
            select(StageRecord)
            .where(StageRecord.cycle_id == cycle.id)
            .order_by(col(StageRecord.id))
        )
    )
    moves = [
        e
        for e in session.exec(
            select(EventRecord)
            .where(EventRecord.cycle_id == cycle.id, EventRecord.kind == "due_date_moved")
            .order_by(col(EventRecord.seq))
        )
    ]
    numbered = round_numbers([(v.stage, v.visit) for v in visits], spec)
    rows = participation_rows(session, cycle.id)
    current = cycle.resume_state or cycle.state
    keys = [s.key for s in spec.work_stages]
    lines: list[StageLine] = []
    for stage in spec.work_stages:
        mine = [v for v in visits if v.stage == stage.key]
        rounds = {number for (key, _), (number, _) in numbered.items() if key == stage.key}
        planned = plan.get(stage.key)
        actual_end = mine[-1].left_at if mine and mine[-1].left_at else None
        if cycle.status == FINISHED or (
            current in keys and keys.index(stage.key) < keys.index(current)
        ):
            status = "done" if mine else "skipped"
        else:
            status = "current" if stage.key == current else "ahead"
        late = None
        if planned is not None and actual_end is not None:
            late = (_local(actual_end, zone) - _local(planned.planned_due, zone)).days  # type: ignore[operator]
        roles = []
        for row in sorted(
            (r for r in rows if r.stage == stage.key),
            key=lambda r: ("lead", "active", "informed").index(r.level),
        ):
            focal = _person(people, row.focal_point_id, row.needs_focal_point)
            deputy = _person(people, row.deputy_id, False)
            roles.append((row.level, orgs.get(row.organisation_id, "?"), focal, deputy))
        lines.append(
            StageLine(
                key=stage.key,
                title=stage.title,
                status=status,
                planned_start=_local(planned.planned_start, zone) if planned else None,
                planned_due=_local(planned.planned_due, zone) if planned else None,
                original_due=_local(planned.original_due, zone) if planned else None,
                actual_start=_local(mine[0].entered_at, zone) if mine else None,
                actual_end=_local(actual_end, zone),
                visits=len(rounds),  # rounds: a resume after a pause is not a new one
                days_late=late,
                roles=tuple(roles),
                moves=tuple(
                    f"{_local(e.at, zone)}: due {e.data.get('old_due', '')[:10]} -> "
                    f"{e.data.get('new_due', '')[:10]} ({e.data.get('reason')})"
                    for e in moves
                    if e.data.get("stage") == stage.key
                ),
            )
        )
    return tuple(lines)


def _person(people: dict[int, PersonRecord], person_id: int | None, needs_new: bool) -> str:
    if person_id is None:
        return "-"
    person = people.get(person_id)
    if person is None:
        return "-"
    if person.left_on is not None or needs_new:
        left = f"left {person.left_on.isoformat()}" if person.left_on else "replaced"
        return (
            f"{person.name} ({left}; needs a new focal point)"
            if needs_new
            else f"{person.name} ({left})"
        )
    return person.name


def _products(
    session: Session, cycle_id: int, spec: TemplateSpec, orgs: dict[int, str], zone: ZoneInfo
) -> list[dict[str, str | None]]:
    return [
        {
            "title": p.title,
            "kind": PRODUCT_KIND_TITLES.get(p.kind, p.kind),
            "form": p.form,
            "stage": spec.stage(p.stage).title if spec.has_stage(p.stage) else p.stage,
            "author": orgs.get(p.author_organisation_id, "?"),
            "link": p.link,
            "file": p.file_name,
            "date": str(_local(p.created_at, zone)),
        }
        for p in products_of(session, cycle_id)
    ]


def _contexts(
    session: Session, cycle_id: int, spec: TemplateSpec, orgs: dict[int, str], zone: ZoneInfo
) -> list[dict[str, object]]:
    results = results_of(session, cycle_id)
    rounds = round_visits(session, cycle_id, spec)
    return [
        {
            "name": c.name,
            "country": c.country,
            "community": c.community,
            "organisation": orgs.get(c.organisation_id, "?"),
            "status": c.status,
            "results": [
                {
                    "round": rounds.get((r.stage, r.visit), (r.visit, r.visit))[0],
                    "rating": r.rating,
                    "summary": r.summary,
                    "date": str(_local(r.reported_at, zone)),
                }
                for r in results
                if r.context_id == c.id
            ],
        }
        for c in contexts_of(session, cycle_id)
    ]


def _learning(
    session: Session, cycle_id: int
) -> tuple[tuple[str, tuple[tuple[str, str, str], ...]], ...]:
    entries = learning_of(session, cycle_id)
    groups = []
    for kind in LEARNING_KINDS:
        items = tuple(
            (e.record.title, e.record.text, ", ".join(o.name for o in e.organisations))
            for e in entries
            if e.record.kind == kind
        )
        if items:
            groups.append((LEARNING_KIND_TITLES[kind], items))
    return tuple(groups)


def _turning_points(
    session: Session, cycle_id: int, spec: TemplateSpec, zone: ZoneInfo
) -> list[str]:
    """Loops back, pauses, cancellations and people leaving, with their notes."""
    points: list[str] = []
    for event in session.exec(
        select(EventRecord).where(EventRecord.cycle_id == cycle_id).order_by(col(EventRecord.seq))
    ):
        day = _local(event.at, zone)
        if event.kind == "transition" and event.note and event.to_state and event.from_state:
            src = (
                spec.stage(event.from_state).title
                if spec.has_stage(event.from_state)
                else event.from_state
            )
            dst = (
                spec.stage(event.to_state).title
                if spec.has_stage(event.to_state)
                else event.to_state
            )
            points.append(f"{day}: {src} -> {dst}: {event.note}")
        elif event.kind == "focal_point_left":
            stages = ", ".join(event.data.get("stages", [])) or "no open stage"
            points.append(
                f"{day}: {event.data.get('person')} left ({stages} need a new focal point)"
            )
    return points


def render_report(report: CycleReport, fmt: str = "markdown") -> str:
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
    env.filters["cell"] = _cell
    return env.get_template(FORMATS[fmt]).render(r=report)


def _cell(value: object) -> str:
    """Text safe inside a Markdown table cell."""
    return str(value).replace("|", "\\|").replace("\n", " ")
