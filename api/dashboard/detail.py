"""Everything the cycle page shows, from the engine's queries.

The timeline is the newest events first (at most TIMELINE_LIMIT); the participation matrix is
organisation by work stage; the cycle's row (badges, stall reasons) comes from the one list of
cycles; triggers come from the engine with their blocking reasons, for the viewer's reach (a
partner acts only on stages their organisation leads or takes active part in).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cycle_engine.alliances.learning import LearningEntry
from cycle_engine.alliances.products import PRODUCT_FORMS, PRODUCT_KIND_TITLES
from cycle_engine.api.access import Viewer
from cycle_engine.api.dashboard.chart import StageLine, plan_chart_svg, stage_lines
from cycle_engine.api.dashboard.rows import CycleRow
from cycle_engine.api.dashboard.svg import state_diagram_svg
from cycle_engine.cycles.listing import CycleFilter
from cycle_engine.engine import CycleEngine
from cycle_engine.errors import CycleNotFound
from cycle_engine.spec.machine import TriggerOption
from cycle_engine.spec.specs import TemplateSpec
from cycle_engine.store.tables import CycleRecord, EventRecord
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
    template_label: str  # key and version, "learning-cycle v2"
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


def _matrix(
    rows: list[ParticipationRecord], people: list[PersonRecord]
) -> dict[tuple[int, str], Cell]:
    names = {p.id: p.name for p in people}
    return {
        (r.organisation_id, r.stage): Cell(level=r.level, focal_point=names.get(r.focal_point_id))
        for r in rows
    }


def load_cycle_page(engine: CycleEngine, viewer: Viewer, cycle_id: int) -> CyclePage:
    """The cycle page's data; raises CycleNotFound outside the viewer's reach."""
    now = engine.clock.now()
    reach = viewer.reach
    listed = engine.cycles.list_rows(CycleFilter(cycle_id=cycle_id, reach=reach), limit=1)
    if not listed:
        raise CycleNotFound(cycle_id)
    cycle = listed[0].cycle
    spec = engine.templates.spec_of(cycle.template_id)
    visits = engine.cycles.stage_visits(cycle_id)
    alliance = None
    organisations: list[OrganisationRecord] = []
    everyone: list[PersonRecord] = []
    if cycle.alliance_id is not None:
        alliance = engine.alliances.get_alliance(cycle.alliance_id)
        organisations = [
            m.organisation for m in engine.alliances.alliance_members(cycle.alliance_id)
        ]
        everyone = engine.alliances.list_people(alliance_id=cycle.alliance_id)
    participation = engine.work.participants(cycle_id)
    taking_part = {r.organisation_id for r in participation}
    involved = [o for o in organisations if o.id in taking_part]
    coordinates = viewer.coordinates(cycle.alliance_id)
    lines = stage_lines(spec, engine.work.work_plan(cycle_id), visits)
    results: dict[int, list[ContextResultRecord]] = {}
    for result in engine.work.context_results(cycle_id):
        results.setdefault(result.context_id, []).append(result)
    return CyclePage(
        cycle=cycle,
        row=CycleRow(listed=listed[0], now=now),
        alliance=alliance,
        spec=spec,
        template_label=engine.templates.record_of(cycle.template_id).label,
        role=viewer.role_in(cycle.alliance_id),
        events=engine.cycles.latest_events(cycle_id, TIMELINE_LIMIT),
        lines=lines,
        chart=plan_chart_svg(lines, now, viewer.timezone),
        diagram=state_diagram_svg(
            spec, current=cycle.state, visited=frozenset(v.stage for v in visits)
        ),
        organisations=organisations if coordinates else involved,  # the forms' choices
        involved=involved,
        matrix=_matrix(participation, everyone),
        people=[p for p in everyone if p.left_on is None] if coordinates else [],
        products=engine.work.cycle_products(cycle_id),
        contexts=engine.work.testing_contexts(cycle_id),
        results=results,
        learning=engine.work.learning_log(cycle_id),
        questions=engine.work.learning_questions(cycle_id),
        triggers=engine.cycles.available_triggers(
            cycle_id, actor=viewer.actor(cycle.alliance_id), reach=reach
        ),
        product_kinds=dict(PRODUCT_KIND_TITLES),
        product_forms=PRODUCT_FORMS,
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
