"""Everything the cycle page shows, from the engine's queries.

The timeline is the newest events first (at most TIMELINE_LIMIT), people's actions apart from
the scheduler's (folded behind a toggle: they are most of the entries and rarely the story);
the participation matrix is organisation by work stage, with focal points who left marked; the
cycle's row (badges, stall reasons) comes from the one list of cycles; who must act comes from
`blockers`; triggers come from the engine with their blocking reasons, for the viewer's reach
(a partner acts only on stages their organisation leads or takes active part in). Stages are
named by the template's titles everywhere on the page (`stage_titles`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from cycle_engine.alliances.learning import LearningEntry
from cycle_engine.alliances.products import PRODUCT_FORMS, PRODUCT_KIND_TITLES
from cycle_engine.api.access import Viewer
from cycle_engine.api.dashboard.blockers import Directory, WhoMustAct, who_must_act
from cycle_engine.api.dashboard.chart import StageLine, plan_chart_svg, stage_lines
from cycle_engine.api.dashboard.rows import CycleRow
from cycle_engine.api.dashboard.svg import state_diagram_svg
from cycle_engine.cycles.listing import CycleFilter
from cycle_engine.engine import CycleEngine
from cycle_engine.errors import CycleNotFound
from cycle_engine.notifications.reader import ENGLISH, N_, Words, speaking
from cycle_engine.notifications.template_texts import trigger_label
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
#: Actors whose events are the engine's own bookkeeping, not a person's action.
SYSTEM_ACTORS = frozenset({"scheduler", "system"})
#: Events about people that stay in the open timeline whoever recorded them.
ABOUT_PEOPLE = frozenset({"focal_point_left", "organisation_left", "started"})


def is_system_event(event: EventRecord) -> bool:
    """The scheduler's and the engine's own entries (timers, reminders, stall checks)."""
    return event.actor in SYSTEM_ACTORS and event.kind not in ABOUT_PEOPLE


@dataclass(frozen=True, kw_only=True)
class Cell:
    level: str
    focal_point: str | None
    #: The focal point left their organisation (the page marks them).
    left: bool = False


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
    who: WhoMustAct | None = None
    stage_titles: dict[str, str] | None = None
    #: Whether the viewer follows the cycle; None when following is not offered (their
    #: organisation has a role here, they manage, or the cycle is standalone).
    following: bool | None = None

    @property
    def people_events(self) -> list[EventRecord]:
        """Events people caused, newest first."""
        return [e for e in self.events if not is_system_event(e)]

    @property
    def system_events(self) -> list[EventRecord]:
        """The scheduler's and the engine's own entries (timers, reminders, stall checks)."""
        return [e for e in self.events if is_system_event(e)]

    @property
    def people_runs(self) -> list[tuple[EventRecord, int]]:
        """People's events with runs of the same bookkeeping (one person changing twelve roles
        in a row) told once, newest first: (the newest event of the run, how many)."""
        return group_runs(self.people_events)

    def stage_title(self, key: str | None) -> str:
        """A stage's title in this cycle's template (the key when the template lacks it)."""
        if not key:
            return ""
        return (self.stage_titles or {}).get(key, key)


def _matrix(
    rows: list[ParticipationRecord], people: list[PersonRecord]
) -> dict[tuple[int, str], Cell]:
    by_id = {p.id: p for p in people}
    cells: dict[tuple[int, str], Cell] = {}
    for r in rows:
        person = by_id.get(r.focal_point_id)
        cells[(r.organisation_id, r.stage)] = Cell(
            level=r.level,
            focal_point=person.name if person else None,
            left=person is not None and person.left_on is not None,
        )
    return cells


def load_cycle_page(
    engine: CycleEngine, viewer: Viewer, cycle_id: int, words: Words = ENGLISH
) -> CyclePage:
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
    with speaking(words):  # the chart's and the diagram's words in the reader's language
        chart = plan_chart_svg(lines, now, viewer.timezone)
        diagram = state_diagram_svg(
            spec, current=cycle.state, visited=frozenset(v.stage for v in visits)
        )
    return CyclePage(
        cycle=cycle,
        row=CycleRow(listed=listed[0], now=now),
        alliance=alliance,
        spec=spec,
        template_label=engine.templates.record_of(cycle.template_id).label,
        role=viewer.role_in(cycle.alliance_id),
        events=engine.cycles.latest_events(cycle_id, TIMELINE_LIMIT),
        lines=lines,
        chart=chart,
        diagram=diagram,
        organisations=organisations if coordinates else involved,  # the forms' choices
        involved=involved,
        matrix=_matrix(participation, everyone),
        people=[p for p in everyone if p.left_on is None] if coordinates else [],
        products=engine.work.cycle_products(cycle_id),
        contexts=engine.work.testing_contexts(cycle_id),
        results=results,
        learning=engine.work.learning_log(cycle_id),
        questions=engine.work.learning_questions(cycle_id),
        triggers=[
            titled_reasons(option, words.language)
            for option in engine.cycles.available_triggers(
                cycle_id, actor=viewer.actor(cycle.alliance_id), reach=reach
            )
        ],
        product_kinds=dict(PRODUCT_KIND_TITLES),
        product_forms=PRODUCT_FORMS,
        who=who_must_act(engine, Directory.of(engine, cycle.alliance_id), cycle, words),
        stage_titles={stage.key: stage.title for stage in spec.stages},
        following=_following(engine, viewer, cycle, taking_part),
    )


def _following(
    engine: CycleEngine, viewer: Viewer, cycle: CycleRecord, taking_part: set[int]
) -> bool | None:
    """Whether the viewer follows the cycle, for members whose organisation has no role on it
    (None for the others: managers read, standalone cycles have no members)."""
    if cycle.alliance_id is None or cycle.id is None or viewer.organisation_id in taking_part:
        return None
    if viewer.role_in(cycle.alliance_id) == "manager":
        return None
    followers = engine.learning.followers(cycle.id, reach=viewer.reach)
    return any(f.person_id == viewer.person_id for f in followers)


#: Event kinds a person often records many of at once; a run of them is told as one line.
GROUPED_KINDS = frozenset({"participation_changed", "question_added", "due_date_moved"})


def group_runs(events: list[EventRecord]) -> list[tuple[EventRecord, int]]:
    """Consecutive events of one GROUPED_KINDS kind by one actor, without notes, as one entry."""
    runs: list[tuple[EventRecord, int]] = []
    for event in events:
        if runs:
            first, count = runs[-1]
            if (
                event.kind in GROUPED_KINDS
                and (first.kind, first.actor) == (event.kind, event.actor)
                and not (event.note or first.note)
            ):
                runs[-1] = (first, count + 1)
                continue
        runs.append((event, 1))
    return runs


def titled_reasons(option: TriggerOption, language: str) -> TriggerOption:
    """`option` with its reasons naming the trigger as people read it in `language` (“Roles
    assigned”, “Roles asignados”), not as its key in quotes ('roles_assigned')."""
    title = f"“{trigger_label(option.trigger, language)}”"
    reasons = tuple(r.replace(f"'{option.trigger}'", title) for r in option.reasons)
    return replace(option, reasons=reasons)


#: Event kinds as a timeline names them (English msgids; the page translates them).
EVENT_WORDS = {
    "transition": N_("transition"),
    "started": N_("started"),
    "stage_started": N_("stage started"),
    "nudged": N_("nudged"),
    "fresh_link": N_("fresh link"),
    "reminder_due": N_("reminder due"),
    "stage_overdue": N_("stage overdue"),
    "overdue_reminder": N_("overdue reminder"),
    "escalated": N_("escalated"),
    "stalled": N_("stalled"),
    "timer_late": N_("timer late"),
    "participation_changed": N_("participation changed"),
    "question_added": N_("question added"),
    "due_date_moved": N_("due date moved"),
    "template_migrated": N_("template migrated"),
    "product_added": N_("product added"),
    "results_recorded": N_("results recorded"),
    "acknowledged": N_("acknowledged"),
    "marked_done": N_("marked done"),
    "extension_requested": N_("extension requested"),
    "snoozed": N_("snoozed"),
}
#: The engine's product kinds (`alliances.products.PRODUCT_KIND_TITLES`), marked for catalogs.
PRODUCT_KIND_WORDS = (
    N_("Learning questions"),
    N_("Good-practice review"),
    N_("Prototype"),
    N_("Adapted version"),
    N_("Documented results"),
    N_("Answers to the learning questions"),
)


def event_summary(event: EventRecord) -> dict[str, Any]:
    """A timeline line's parts, for the template (`kind` an English msgid)."""
    return {
        "kind": EVENT_WORDS.get(event.kind, event.kind.replace("_", " ")),
        "trigger": event.trigger,
        "from": event.from_state,
        "to": event.to_state,
        "note": event.note,
        "data": {k: v for k, v in event.data.items() if not isinstance(v, dict | list)},
    }
