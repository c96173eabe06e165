"""Everything the cycle page shows, gathered in one read transaction.

The timeline is the newest events first (at most TIMELINE_LIMIT); the participation matrix is
organisation by work stage; triggers come from the engine with their blocking reasons, and for
a partner the API's rule applies too (only on stages their organisation leads or takes part in).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from cycle_engine.alliances.alliances import members
from cycle_engine.alliances.contexts import contexts_of, results_of
from cycle_engine.alliances.learning import LearningEntry, learning_of
from cycle_engine.alliances.participation import participation_rows
from cycle_engine.alliances.products import PRODUCT_FORMS, PRODUCT_KIND_TITLES, products_of
from cycle_engine.alliances.questions import questions_of
from cycle_engine.alliances.workplan import plan_rows
from cycle_engine.api.cycle_access import blocked_for_partner
from cycle_engine.api.dashboard.access import Viewer, visible_cycle
from cycle_engine.api.dashboard.chart import StageLine, plan_chart_svg, stage_lines
from cycle_engine.api.dashboard.queries import CycleRow, to_rows
from cycle_engine.api.dashboard.svg import state_diagram_svg
from cycle_engine.engine import CycleEngine
from cycle_engine.spec.machine import TriggerOption
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.store.tables import CycleRecord, EventRecord, StageRecord
from cycle_engine.store.tables.alliances import (
    AllianceRecord,
    ContextRecord,
    ContextResultRecord,
    OrganisationRecord,
    ParticipationRecord,
    PersonRecord,
    ProductRecord,
    QuestionRecord,
)

TIMELINE_LIMIT = 200


@dataclass(frozen=True, kw_only=True)
class Cell:
    level: str
    focal_point: str | None


@dataclass(kw_only=True)
class CyclePage:
    cycle: CycleRecord
    row: CycleRow
    alliance: AllianceRecord | None
    spec: TemplateSpec
    role: str
    events: list[EventRecord]
    lines: list[StageLine]
    chart: str
    diagram: str
    organisations: list[OrganisationRecord]
    involved: list[OrganisationRecord]
    matrix: dict[tuple[int, str], Cell]
    people: list[PersonRecord]
    products: list[ProductRecord]
    contexts: list[ContextRecord]
    results: dict[int, list[ContextResultRecord]]
    learning: list[LearningEntry]
    questions: list[QuestionRecord]
    triggers: list[TriggerOption]
    product_kinds: dict[str, str]
    product_forms: tuple[str, ...]


def _matrix(session: Session, rows: list[ParticipationRecord]) -> dict[tuple[int, str], Cell]:
    people = {
        p.id: p.name
        for p in session.exec(
            select(PersonRecord).where(
                col(PersonRecord.id).in_([r.focal_point_id for r in rows if r.focal_point_id])
            )
        )
    }
    return {
        (r.organisation_id, r.stage): Cell(level=r.level, focal_point=people.get(r.focal_point_id))
        for r in rows
    }


def load_cycle_page(engine: CycleEngine, viewer: Viewer, cycle_id: int) -> CyclePage:
    """The cycle page's data; raises CycleNotFound outside the viewer's reach."""
    now = engine.clock.now()
    with engine.db.read_session() as session:
        cycle = visible_cycle(session, viewer, cycle_id)
        spec = engine.templates.store.spec(session, cycle.template_id)
        visits = list(
            session.exec(
                select(StageRecord)
                .where(StageRecord.cycle_id == cycle_id)
                .order_by(col(StageRecord.id))
            )
        )
        current = next(
            (v for v in visits if v.id == cycle.current_stage_id and v.left_at is None), None
        )
        row = to_rows(session, engine.templates.store, [(cycle, current)], now)[0]
        alliance = session.get(AllianceRecord, cycle.alliance_id) if cycle.alliance_id else None
        events = list(
            session.exec(
                select(EventRecord)
                .where(EventRecord.cycle_id == cycle_id)
                .order_by(col(EventRecord.seq).desc())
                .limit(TIMELINE_LIMIT)
            )
        )
        lines = stage_lines(spec, plan_rows(session, cycle_id), visits)
        participation = participation_rows(session, cycle_id)
        organisations = (
            [m.organisation for m in members(session, alliance.id)]
            if alliance is not None and alliance.id is not None
            else []
        )
        taking_part = {r.organisation_id for r in participation}
        involved = [o for o in organisations if o.id in taking_part]
        if not viewer.coordinates(cycle.alliance_id):  # the forms' choices: coordinators only
            organisations = involved
        org_ids = [o.id for o in organisations if o.id is not None]
        people = (
            list(
                session.exec(
                    select(PersonRecord)
                    .where(
                        col(PersonRecord.organisation_id).in_(org_ids),
                        col(PersonRecord.left_on).is_(None),
                    )
                    .order_by(col(PersonRecord.name))
                )
            )
            if viewer.coordinates(cycle.alliance_id)
            else []
        )
        results: dict[int, list[ContextResultRecord]] = {}
        for result in results_of(session, cycle_id):
            results.setdefault(result.context_id, []).append(result)
        partner_block = blocked_for_partner(session, viewer.principal(cycle.alliance_id), cycle)
        page = CyclePage(
            cycle=cycle,
            row=row,
            alliance=alliance,
            spec=spec,
            role=viewer.role_in(cycle.alliance_id),
            events=events,
            lines=lines,
            chart=plan_chart_svg(lines, now, viewer.timezone),
            diagram=state_diagram_svg(
                spec, current=cycle.state, visited=frozenset(v.stage for v in visits)
            ),
            organisations=organisations,
            involved=involved,
            matrix=_matrix(session, participation),
            people=people,
            products=products_of(session, cycle_id),
            contexts=contexts_of(session, cycle_id),
            results=results,
            learning=learning_of(session, cycle_id),
            questions=questions_of(session, cycle_id),
            triggers=[],
            product_kinds=dict(PRODUCT_KIND_TITLES),
            product_forms=PRODUCT_FORMS,
        )
    options = engine.available_triggers(cycle_id, actor=viewer.actor(cycle.alliance_id))
    if partner_block is not None:
        options = [_blocked(option, partner_block) for option in options]
    page.triggers = options
    return page


def _blocked(option: TriggerOption, reason: str) -> TriggerOption:
    if not option.allowed:
        return option
    return TriggerOption(
        trigger=option.trigger,
        dest=option.dest,
        allowed=False,
        reasons=(reason,),
        roles=option.roles,
        description=option.description,
    )


def event_summary(event: EventRecord) -> dict[str, Any]:
    """A timeline line's parts, for the template."""
    return {
        "kind": event.kind.replace("_", " "),
        "trigger": event.trigger,
        "from": event.from_state,
        "to": event.to_state,
        "note": event.note,
        "data": {k: v for k, v in event.data.items() if not isinstance(v, dict | list)},
    }
